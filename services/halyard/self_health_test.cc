#include "services/halyard/self_health.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gennaker::halyard {
namespace {

using ::testing::HasSubstr;

ProcessView View(std::vector<std::string> argv,
                 std::vector<std::pair<std::string, std::string>> env = {},
                 std::string cwd = "") {
  return ProcessView{std::move(argv), std::move(env), std::move(cwd)};
}

TEST(ServiceHealthAddressTest, DefaultPortOfTheProgram) {
  ProcessView orca = View({"/opt/gennaker/bin/orca"});
  EXPECT_EQ(ServiceHealthAddress(orca).value(), "127.0.0.1:8083");
  ProcessView gate = View({"gate"}, {{"PATH", "/bin"}});
  EXPECT_EQ(ServiceHealthAddress(gate).value(), "127.0.0.1:8085");
}

TEST(ServiceHealthAddressTest, ConfigFileThenEnvironment) {
  const std::string path =
      testing::TempDir() + "/self_health_" + std::to_string(getpid()) + ".yml";
  {
    std::ofstream out(path);
    out << "server:\n  grpcPort: 9183\n";
  }
  ProcessView file = View({"front50", "--config", path});
  EXPECT_EQ(ServiceHealthAddress(file).value(), "127.0.0.1:9183");
  ProcessView equals = View({"front50", "--config=" + path});
  EXPECT_EQ(ServiceHealthAddress(equals).value(), "127.0.0.1:9183");
  ProcessView env = View({"front50", "--config", path},
                         {{"GENNAKER__SERVER__GRPC_PORT", "9283"}});
  EXPECT_EQ(ServiceHealthAddress(env).value(), "127.0.0.1:9283");
  // A relative path is the service's own working directory's.
  const size_t slash = path.rfind('/');
  ProcessView relative = View({"front50", "--config", path.substr(slash + 1)},
                              {}, path.substr(0, slash));
  EXPECT_EQ(ServiceHealthAddress(relative).value(), "127.0.0.1:9183");
  ProcessView daemon = View({"halyard", "--daemon-config", path, "serve"});
  EXPECT_EQ(ServiceHealthAddress(daemon).value(), "127.0.0.1:9183");
  std::remove(path.c_str());
}

TEST(ServiceHealthAddressTest, HalyardOnlyAsTheDaemon) {
  ProcessView daemon = View({"halyard", "serve"});
  EXPECT_EQ(ServiceHealthAddress(daemon).value(), "127.0.0.1:8064");
  ProcessView cli = View({"halyard", "deploy", "apply"});
  EXPECT_THAT(ServiceHealthAddress(cli).status().message(),
              HasSubstr("not a Gennaker service"));
}

TEST(ServiceHealthAddressTest, ErrorsAreClear) {
  ProcessView shell = View({"/bin/sh", "-c", "sleep 1"});
  EXPECT_THAT(ServiceHealthAddress(shell).status().message(),
              HasSubstr("'/bin/sh' is not a Gennaker service"));
  ProcessView missing = View({"orca", "--config", "/nonexistent/orca.yml"});
  EXPECT_FALSE(ServiceHealthAddress(missing).ok());
  ProcessView bad_port = View({"orca"}, {{"GENNAKER__SERVER__GRPC_PORT", "x"}});
  EXPECT_FALSE(ServiceHealthAddress(bad_port).ok());
}

TEST(ReadProcessViewTest, ReadsThisProcess) {
  auto view = ReadProcessView(getpid());
  ASSERT_TRUE(view.ok()) << view.status();
  ASSERT_FALSE(view->argv.empty());
  EXPECT_THAT(view->argv[0], HasSubstr("halyard_unit_test"));
  char cwd[4096];
  ASSERT_NE(getcwd(cwd, sizeof(cwd)), nullptr);
  EXPECT_EQ(view->cwd, cwd);
  EXPECT_FALSE(ReadProcessView(0).ok());
}

}  // namespace
}  // namespace gennaker::halyard
