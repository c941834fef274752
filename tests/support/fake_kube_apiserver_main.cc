// The fake Kubernetes API server as a program, for trying kubectl against it
// by hand:
//   gennaker-fake-kube-apiserver /tmp/kubeconfig [rollout-delay-ms]
//   kubectl --kubeconfig /tmp/kubeconfig -v=8 apply --server-side -f x.yaml
// Writes a kubeconfig (context "fake") and prints every request it receives.
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "absl/time/clock.h"
#include "tests/support/fake_kube_apiserver.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: " << argv[0] << " KUBECONFIG [ROLLOUT_DELAY_MS]\n";
    return 2;
  }
  gennaker::testing::FakeKubeApiServerOptions options;
  if (argc >= 3) options.rollout_delay = absl::Milliseconds(atoi(argv[2]));
  auto server = gennaker::testing::FakeKubeApiServer::Start(options);
  if (!server.ok()) {
    std::cerr << server.status() << "\n";
    return 1;
  }
  if (auto s = (*server)->WriteKubeconfig(argv[1], "fake"); !s.ok()) {
    std::cerr << s << "\n";
    return 1;
  }
  std::cout << "fake Kubernetes API server at " << (*server)->url()
            << ", kubeconfig " << argv[1] << std::endl;
  size_t seen = 0;
  while (true) {
    auto requests = (*server)->Requests();
    for (; seen < requests.size(); ++seen) {
      std::cout << requests[seen] << std::endl;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}
