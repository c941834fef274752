#include "tests/support/deb_package.h"

#include <filesystem>
#include <fstream>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/process/process.h"

namespace gennaker::testing {

namespace fs = std::filesystem;

absl::StatusOr<std::string> BuildDeb(const DebPackage& package,
                                     const std::string& out_dir) {
  if (package.name.empty() || package.version.empty()) {
    return absl::InvalidArgumentError("a package needs a name and a version");
  }
  const std::string file =
      absl::StrCat(package.name, "_", package.version, "_", package.arch);
  const std::string out = absl::StrCat(out_dir, "/", file, ".deb");
  // Staged next to the output (not inside it) so a package repository never
  // shows a half-built tree.
  const std::string stage = absl::StrCat(out_dir, "/../.stage-", file);
  std::error_code ec;
  fs::remove_all(stage, ec);
  fs::create_directories(stage + "/DEBIAN", ec);
  if (ec) return absl::InternalError(absl::StrCat(stage, ": ", ec.message()));
  for (const auto& [dest, source] : package.files) {
    const fs::path target = fs::path(stage) / dest;
    fs::create_directories(target.parent_path(), ec);
    if (!ec) fs::copy_file(source, target, ec);
    if (ec) {
      return absl::InternalError(
          absl::StrCat("copy ", source, " -> ", dest, ": ", ec.message()));
    }
  }
  for (const std::string& dest : package.strip) {
    if (!package.files.contains(dest)) {
      return absl::InvalidArgumentError(
          absl::StrCat("strip: ", dest, " is not a file of the package"));
    }
    process::SpawnOptions o;
    o.argv = {"/usr/bin/strip", (fs::path(stage) / dest).string()};
    o.log_file = stage + ".strip.log";
    auto code = process::Run(o);
    fs::remove(o.log_file, ec);
    if (!code.ok() || *code != 0) {
      fs::remove_all(stage, ec);
      return absl::InternalError(absl::StrCat("strip ", dest, " failed"));
    }
  }
  {
    std::ofstream control(stage + "/DEBIAN/control");
    control << "Package: " << package.name << "\nVersion: " << package.version
            << "\nArchitecture: " << package.arch
            << "\nMaintainer: Gennaker tests <tests@gennaker.invalid>"
            << "\nDescription: " << package.description << "\n";
    if (!control) return absl::InternalError("cannot write DEBIAN/control");
  }
  process::SpawnOptions o;
  o.argv = {"/usr/bin/dpkg-deb",
            "--root-owner-group",
            "-Zgzip",
            "--build",
            stage,
            out};
  o.log_file = stage + ".log";
  auto code = process::Run(o);
  std::string log;
  if (!code.ok() || *code != 0) {
    std::ifstream in(o.log_file);
    log.assign(std::istreambuf_iterator<char>(in), {});
  }
  fs::remove_all(stage, ec);
  fs::remove(o.log_file, ec);
  if (!code.ok()) return code.status();
  if (*code != 0) {
    return absl::InternalError(
        absl::StrCat("dpkg-deb exited with ", *code, ": ", log));
  }
  return out;
}

absl::StatusOr<std::string> BuildHelloDeb(const std::string& version,
                                          const std::string& demo_binary,
                                          const std::string& out_dir) {
  DebPackage p;
  p.name = "hello";
  p.version = version;
  p.description = "gennaker-demo packaged as hello " + version;
  p.files = {{"usr/bin/gennaker-demo", demo_binary}};
  p.strip = {"usr/bin/gennaker-demo"};
  return BuildDeb(p, out_dir);
}

}  // namespace gennaker::testing
