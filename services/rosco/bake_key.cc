#include "services/rosco/bake_key.h"

#include <openssl/sha.h>

#include <ctime>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"

namespace gennaker::rosco {

std::string ProviderName(v1::CloudProviderType type) {
  switch (type) {
    case v1::CLOUD_PROVIDER_TYPE_ALICLOUD:
      return "alicloud";
    case v1::CLOUD_PROVIDER_TYPE_AWS:
      return "aws";
    case v1::CLOUD_PROVIDER_TYPE_AZURE:
      return "azure";
    case v1::CLOUD_PROVIDER_TYPE_DOCKER:
      return "docker";
    case v1::CLOUD_PROVIDER_TYPE_GCE:
      return "gce";
    case v1::CLOUD_PROVIDER_TYPE_HUAWEICLOUD:
      return "huaweicloud";
    case v1::CLOUD_PROVIDER_TYPE_ORACLE:
      return "oracle";
    case v1::CLOUD_PROVIDER_TYPE_TENCENTCLOUD:
      return "tencentcloud";
    case v1::CLOUD_PROVIDER_TYPE_LOCAL:
      return "local";
    default:
      return "";
  }
}

std::vector<PackageRef> ParsePackages(absl::string_view package_names) {
  std::vector<PackageRef> out;
  for (absl::string_view entry : absl::StrSplit(
           package_names, absl::ByAnyChar(" \t\n"), absl::SkipEmpty())) {
    PackageRef ref;
    ref.entry = std::string(entry);
    if (const size_t eq = entry.find('='); eq != absl::string_view::npos) {
      ref.name = std::string(entry.substr(0, eq));
      ref.version = std::string(entry.substr(eq + 1));
    } else {
      // Debian package names have no '_', so name_version_arch splits
      // unambiguously (Spinnaker's DEB package name convention).
      std::vector<std::string> parts = absl::StrSplit(entry, '_');
      ref.name = parts[0];
      if (parts.size() >= 2) ref.version = parts[1];
      if (parts.size() >= 3) ref.arch = parts[2];
    }
    out.push_back(std::move(ref));
  }
  return out;
}

namespace {

std::string Sha256Hex(absl::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

// extendedAttributes.command as written ("" when none or unparsable: an
// invalid request is refused before any key is used).
std::string LocalCommand(const v1::BakeRequest& request) {
  if (request.extended_attributes().json().empty()) return "";
  const nlohmann::json attrs =
      nlohmann::json::parse(request.extended_attributes().json(), nullptr,
                            /*allow_exceptions=*/false);
  if (!attrs.is_object()) return "";
  auto it = attrs.find("command");
  if (it == attrs.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

}  // namespace

std::string BakeKey(const v1::BakeRequest& request,
                    v1::CloudProviderType provider, absl::string_view region,
                    absl::string_view vm_type) {
  std::vector<std::string> parts = {"bake"};
  for (const std::string& v :
       {ProviderName(provider), request.base_os(), request.base_ami(),
        request.ami_name(), request.template_file_name(),
        request.var_file_name()}) {
    if (!v.empty()) parts.push_back(v);
  }
  std::vector<std::string> entries;
  for (const PackageRef& p : ParsePackages(request.package_names())) {
    entries.push_back(p.entry);
  }
  parts.push_back(absl::StrJoin(entries, "|"));
  if (request.package_artifacts_size() > 0) {
    std::vector<std::string> refs;
    for (const auto& a : request.package_artifacts()) {
      // An embedded payload is named by its digest: megabytes of base64 do
      // not belong in a Redis key or a log line.
      refs.push_back(a.type() == "embedded/base64"
                         ? absl::StrCat("embedded/base64@sha256:",
                                        Sha256Hex(a.reference()))
                         : a.reference());
    }
    parts.push_back(absl::StrJoin(refs, "|"));
  }
  if (provider == v1::CLOUD_PROVIDER_TYPE_LOCAL) {
    // A local image holds its entry command: another command is another
    // image.
    const std::string command = LocalCommand(request);
    if (!command.empty()) {
      parts.push_back(absl::StrCat("command@sha256:", Sha256Hex(command)));
    }
  }
  if (provider == v1::CLOUD_PROVIDER_TYPE_AWS) {
    parts.push_back(std::string(region));
    parts.push_back(std::string(vm_type));
    parts.push_back(request.enhanced_networking() ? "enhancedNWEnabled"
                                                  : "enhancedNWDisabled");
  }
  return absl::StrJoin(parts, ":");
}

namespace {

std::string CompactTime(int64_t now_ms) {
  const time_t secs = static_cast<time_t>(now_ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y%m%d%H%M%S", &tm);
  return buf;
}

}  // namespace

std::string ImageName(const v1::BakeRequest& request,
                      v1::CloudProviderType provider, const PackageRef& first,
                      int64_t now_ms) {
  const std::string base =
      request.ami_name().empty() ? first.name : request.ami_name();
  if (provider == v1::CLOUD_PROVIDER_TYPE_DOCKER) {
    return request.organization().empty()
               ? base
               : absl::StrCat(request.organization(), "/", base);
  }
  std::vector<std::string> parts;
  const bool local = provider == v1::CLOUD_PROVIDER_TYPE_LOCAL;
  std::vector<std::string> candidates = {base};
  if (local) candidates.push_back(first.version);
  candidates.push_back(first.arch.empty() ? "all" : first.arch);
  candidates.push_back(!request.ami_suffix().empty() ? request.ami_suffix()
                       : local                       ? CompactTime(now_ms)
                                                     : absl::StrCat(now_ms));
  candidates.push_back(request.base_os());
  for (std::string& c : candidates) {
    if (!c.empty()) parts.push_back(std::move(c));
  }
  return absl::StrJoin(parts, "-");
}

std::string AppVersion(const PackageRef& first,
                       const v1::BakeRequest& request) {
  if (first.name.empty()) return "";
  std::string out = first.name;
  if (!first.version.empty()) absl::StrAppend(&out, "-", first.version);
  if (!request.build_number().empty()) {
    absl::StrAppend(&out, "-h", request.build_number());
    if (!request.commit_hash().empty()) {
      absl::StrAppend(&out, ".", request.commit_hash().substr(0, 7));
    }
    if (!request.job().empty()) {
      absl::StrAppend(&out, "/", request.job(), "/", request.build_number());
    }
  }
  return out;
}

bool IsSafeName(absl::string_view name) {
  if (name.empty() || name[0] == '.') return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

int CompareVersions(absl::string_view a, absl::string_view b) {
  size_t i = 0, j = 0;
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  while (i < a.size() && j < b.size()) {
    if (digit(a[i]) && digit(b[j])) {
      size_t ie = i, je = j;
      while (ie < a.size() && a[ie] == '0') ++ie;  // leading zeros
      while (je < b.size() && b[je] == '0') ++je;
      size_t is = ie, js = je;
      while (ie < a.size() && digit(a[ie])) ++ie;
      while (je < b.size() && digit(b[je])) ++je;
      if (ie - is != je - js) return ie - is < je - js ? -1 : 1;
      if (int c = a.substr(is, ie - is).compare(b.substr(js, je - js)); c) {
        return c;
      }
      i = ie;
      j = je;
    } else {
      if (a[i] != b[j]) return a[i] < b[j] ? -1 : 1;
      ++i;
      ++j;
    }
  }
  if (i < a.size()) return 1;
  if (j < b.size()) return -1;
  return 0;
}

}  // namespace gennaker::rosco
