// The `halyard` command line: config editing, local deploy (apply / status /
// clean), the daemon (`serve`) and a health probe. Works on the files directly;
// no daemon is needed.
#ifndef GENNAKER_SERVICES_HALYARD_CLI_H_
#define GENNAKER_SERVICES_HALYARD_CLI_H_

namespace gennaker::halyard {

// Runs the command in argv; returns the process exit code (0 ok, 1 failed, 2
// bad usage or invalid config).
int RunCli(int argc, char** argv);

}  // namespace gennaker::halyard

#endif  // GENNAKER_SERVICES_HALYARD_CLI_H_
