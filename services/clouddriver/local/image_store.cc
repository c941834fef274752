#include "services/clouddriver/local/image_store.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/spinnaker/json.h"

namespace gennaker::clouddriver::local {

namespace {

using Json = nlohmann::ordered_json;

constexpr char kIdPrefix[] = "sha256:";
// Manifests and names files are small; a huge one is not the contract's.
constexpr size_t kMaxFileBytes = size_t{1} << 20;

// The file's text; NOT_FOUND when it does not exist (or is not a regular
// file), DATA_LOSS when it cannot be read or is too large.
absl::StatusOr<std::string> ReadSmallFile(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::NotFoundError(absl::StrCat(path, " does not exist"));
  }
  if (static_cast<size_t>(st.st_size) > kMaxFileBytes) {
    return absl::DataLossError(absl::StrCat(path, " is too large"));
  }
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  if (in.bad()) return absl::DataLossError(absl::StrCat("cannot read ", path));
  return text;
}

absl::StatusOr<Json> ReadJsonObject(const std::string& path) {
  absl::StatusOr<std::string> text = ReadSmallFile(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<Json> j = spinnaker::ParseJson(*text, path);
  if (!j.ok() || !j->is_object()) {
    return absl::DataLossError(absl::StrCat(path, " is not a JSON object"));
  }
  return j;
}

// Tag values are strings in the contract; numbers (a build number) are
// accepted and printed.
std::string ScalarText(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number() || v.is_boolean()) return v.dump();
  return "";
}

}  // namespace

ImageStore::ImageStore(std::string dir) : dir_(std::move(dir)) {
  // Absolute: the rootfs paths it hands out are used after a chdir.
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(dir_, ec);
  if (!ec) dir_ = absolute.lexically_normal().string();
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
}

bool ImageStore::IsImageId(const std::string& ref) {
  if (!absl::StartsWith(ref, kIdPrefix)) return false;
  const std::string hex = ref.substr(sizeof(kIdPrefix) - 1);
  return hex.size() == 64 && std::all_of(hex.begin(), hex.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool ImageStore::IsImageName(const std::string& ref) {
  if (ref.empty() || ref.size() > 200 || ref[0] == '.') return false;
  if (absl::StrContains(ref, "..")) return false;
  return std::none_of(ref.begin(), ref.end(), [](char c) {
    return c == '/' || c == '\\' || static_cast<unsigned char>(c) < 0x20 ||
           c == 0x7f;
  });
}

absl::StatusOr<LocalImage> ImageStore::ReadImage(const std::string& id) const {
  const std::string hex = id.substr(sizeof(kIdPrefix) - 1);
  LocalImage image;
  image.id = id;
  image.dir = absl::StrCat(dir_, "/images/", hex);
  image.rootfs = image.dir + "/rootfs";
  // No manifest: not an image (yet); a bake may be writing it.
  absl::StatusOr<Json> m = ReadJsonObject(image.dir + "/manifest.json");
  if (!m.ok()) {
    if (absl::IsNotFound(m.status())) {
      return absl::NotFoundError(absl::StrCat("no complete image ", id));
    }
    return m.status();
  }
  if (spinnaker::Int(*m, "schemaVersion") != 1 ||
      spinnaker::String(*m, "imageId") != id) {
    return absl::DataLossError(absl::StrCat(
        image.dir, "/manifest.json is not a schemaVersion 1 manifest of ", id));
  }
  if (auto command = m->find("command");
      command != m->end() && !command->is_null()) {
    if (!command->is_array() ||
        !std::all_of(command->begin(), command->end(),
                     [](const Json& a) { return a.is_string(); })) {
      return absl::DataLossError(absl::StrCat(
          image.dir, "/manifest.json: command must be a list of strings"));
    }
    image.command = spinnaker::Strings(*m, "command");
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(image.rootfs, ec)) {
    return absl::DataLossError(
        absl::StrCat("image ", id, " has a manifest but no rootfs"));
  }
  image.packages = spinnaker::Array(*m, "packages");
  image.created_ms = spinnaker::Int(*m, "createdAt");
  return image;
}

absl::StatusOr<LocalImage> ImageStore::ReadNamed(
    const std::string& name) const {
  const std::string path = absl::StrCat(dir_, "/names/", name, ".json");
  absl::StatusOr<Json> n = ReadJsonObject(path);
  if (!n.ok()) {
    if (absl::IsNotFound(n.status())) {
      return absl::NotFoundError(absl::StrCat("no image named ", name));
    }
    return n.status();
  }
  const std::string id = spinnaker::String(*n, "imageId");
  if (spinnaker::String(*n, "imageName") != name || !IsImageId(id)) {
    return absl::DataLossError(absl::StrCat(
        path, " must name itself and a valid imageId (sha256:<64 hex>)"));
  }
  absl::StatusOr<LocalImage> image = ReadImage(id);
  if (!image.ok()) return image.status();
  image->name = name;
  image->base_os = spinnaker::String(*n, "baseOs");
  const Json tags = spinnaker::Object(*n, "tags");
  for (auto it = tags.begin(); it != tags.end(); ++it) {
    std::string v = ScalarText(*it);
    if (!v.empty()) image->tags[it.key()] = std::move(v);
  }
  image->build_info = spinnaker::Object(*n, "buildInfo");
  image->created_ms = spinnaker::Int(*n, "createdAt", image->created_ms);
  return image;
}

absl::StatusOr<LocalImage> ImageStore::Resolve(const std::string& ref) const {
  if (IsImageId(ref)) {
    absl::StatusOr<LocalImage> image = ReadImage(ref);
    if (!image.ok()) return image.status();
    // The newest name of this content gives what the bake recorded.
    for (LocalImage& named : List()) {
      if (named.id == ref) return std::move(named);
    }
    return image;
  }
  // Something that merely looks like an id is a malformed id, not a name.
  if (absl::StartsWith(ref, kIdPrefix) || !IsImageName(ref)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", ref,
        "' is neither an image id (sha256:<64 lowercase hex>) nor an image "
        "name"));
  }
  return ReadNamed(ref);
}

Json ServerGroupBuildInfo(const LocalImage& image) {
  // What the bake recorded, the tags standing in for a missing key.
  auto value = [&image](const char* key) {
    const auto it = image.build_info.find(key);
    if (it != image.build_info.end()) {
      std::string v = ScalarText(*it);
      if (!v.empty()) return v;
    }
    const auto tag = image.tags.find(key);
    return tag != image.tags.end() ? tag->second : std::string();
  };
  Json out = Json::object();
  auto put = [](Json& j, const char* key, std::string v) {
    if (!v.empty()) j[key] = std::move(v);
  };
  put(out, "package_name", value("package"));
  put(out, "version", value("version"));
  put(out, "commit", value("commit_hash"));
  put(out, "buildInfoUrl", value("build_info_url"));
  Json jenkins = Json::object();
  put(jenkins, "name", value("job"));
  put(jenkins, "number", value("build_number"));
  put(jenkins, "host", value("build_host"));
  if (!jenkins.empty()) out["jenkins"] = std::move(jenkins);
  return out;
}

std::vector<LocalImage> ImageStore::List() const {
  std::vector<LocalImage> out;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir_ + "/names", ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string file = it->path().filename().string();
    if (!absl::EndsWith(file, ".json")) continue;  // temp files and others
    const std::string name = file.substr(0, file.size() - 5);
    if (!IsImageName(name)) continue;
    absl::StatusOr<LocalImage> image = ReadNamed(name);
    if (!image.ok()) {
      if (!absl::IsNotFound(image.status())) {
        SPDLOG_WARN("event=local_image_skipped store={} name={} error={}", dir_,
                    name, image.status());
      }
      continue;
    }
    out.push_back(std::move(*image));
  }
  std::sort(out.begin(), out.end(),
            [](const LocalImage& a, const LocalImage& b) {
              if (a.created_ms != b.created_ms) {
                return a.created_ms > b.created_ms;
              }
              return a.name < b.name;
            });
  return out;
}

}  // namespace gennaker::clouddriver::local
