// The halyard binary: operator CLI and, with `serve`, the halyard daemon.
#include "services/halyard/cli.h"

int main(int argc, char** argv) {
  return gennaker::halyard::RunCli(argc, argv);
}
