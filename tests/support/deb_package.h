// Tiny Debian packages for bake tests and benches, built with the real
// `dpkg-deb --build` so rosco installs them the way it installs any .deb.
//
// Contract: BuildDeb writes <out_dir>/<name>_<version>_<arch>.deb (the file
// name rosco's package repository expects) holding `files` (destination path
// inside the package, relative, e.g. "usr/bin/gennaker-demo" -> source file on
// disk, copied with its permission bits) and a DEBIAN/control naming the
// package and version, gzip-compressed (quick to build; rosco's dpkg-deb
// reads any). It returns the path of the .deb. Staging happens in a sibling
// directory of the output that is removed afterwards.
#ifndef GENNAKER_TESTS_SUPPORT_DEB_PACKAGE_H_
#define GENNAKER_TESTS_SUPPORT_DEB_PACKAGE_H_

#include <map>
#include <set>
#include <string>

#include "absl/status/statusor.h"

namespace gennaker::testing {

struct DebPackage {
  std::string name;          // e.g. "hello"
  std::string version;       // e.g. "1.0.0"
  std::string arch = "all";  // Architecture: field and file name suffix
  std::string description = "Gennaker test package";
  std::map<std::string, std::string> files;  // package path -> source file
  // Package paths (keys of `files`) of ELF binaries to `strip`, as
  // distribution packages ship them: gennaker-demo is ~5 MB with its debug
  // info, ~0.25 MB stripped (quicker to pack, unpack and pass as an artifact).
  std::set<std::string> strip;
};

absl::StatusOr<std::string> BuildDeb(const DebPackage& package,
                                     const std::string& out_dir);

// The package the bake tests use: "hello" `version` with
// usr/bin/gennaker-demo (copied from `demo_binary`, stripped).
absl::StatusOr<std::string> BuildHelloDeb(const std::string& version,
                                          const std::string& demo_binary,
                                          const std::string& out_dir);

}  // namespace gennaker::testing

#endif  // GENNAKER_TESTS_SUPPORT_DEB_PACKAGE_H_
