// Reader of a local image store (the format rosco's local bakes write; see
// the issue-16 contract): <S>/images/<hex>/{manifest.json, rootfs/} per image
// content and <S>/names/<imageName>.json per baked image name. An image dir
// without manifest.json is still being written (or was abandoned): it is not
// an image. The reader never writes the store and trusts nothing in it: ids
// must be "sha256:<64 lowercase hex>" matching their dir, names must be a
// plain file name (no '/', no "..", no leading '.'), and a names file must
// name itself and point at a complete image.
//
// Thread-compatible and stateless (every call reads the disk): bakes add
// images while clouddriver runs.
#ifndef GENNAKER_SERVICES_CLOUDDRIVER_LOCAL_IMAGE_STORE_H_
#define GENNAKER_SERVICES_CLOUDDRIVER_LOCAL_IMAGE_STORE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace gennaker::clouddriver::local {

struct LocalImage {
  std::string id;      // "sha256:<hex>"
  std::string name;    // image name; "" when no names file points at `id`
  std::string dir;     // <S>/images/<hex>
  std::string rootfs;  // <dir>/rootfs
  // The manifest's entry command ("{{port}}" kept); may be empty.
  std::vector<std::string> command;
  nlohmann::ordered_json packages = nlohmann::ordered_json::array();
  // From the names file ({} / empty without one).
  nlohmann::ordered_json build_info = nlohmann::ordered_json::object();
  std::map<std::string, std::string> tags;
  std::string base_os;
  // The names file's createdAt, else the manifest's (epoch ms).
  int64_t created_ms = 0;
};

class ImageStore {
 public:
  // `dir` is made absolute (against the current directory).
  explicit ImageStore(std::string dir);
  const std::string& dir() const { return dir_; }

  // "sha256:" + 64 lowercase hex digits.
  static bool IsImageId(const std::string& ref);
  // A plain file name: non-empty, at most 200 bytes, no '/', '\\', control
  // characters or "..", not starting with '.'.
  static bool IsImageName(const std::string& ref);

  // The image `ref` names: an image id, or an image name. Resolved by id,
  // the newest name pointing at it (if any) gives name, tags and build info.
  // INVALID_ARGUMENT for a ref that is neither a valid id nor a valid name;
  // NOT_FOUND when the store has no complete image for it; DATA_LOSS for a
  // manifest or names file that is not the contract's.
  absl::StatusOr<LocalImage> Resolve(const std::string& ref) const;

  // Every named image whose manifest is complete, newest first (ties by
  // name). Unreadable or invalid names files are skipped and logged.
  std::vector<LocalImage> List() const;

 private:
  // The complete image of `id` (manifest read); name fields left empty.
  absl::StatusOr<LocalImage> ReadImage(const std::string& id) const;
  // The names file of `name` applied to its image.
  absl::StatusOr<LocalImage> ReadNamed(const std::string& name) const;

  std::string dir_;
};

// Spinnaker's server group buildInfo of `image`: {package_name, version,
// commit, buildInfoUrl, jenkins:{name, number, host}} from the names file's
// buildInfo (keys package, version, commit_hash, build_info_url, job,
// build_number, build_host), its tags standing in for missing keys; keys
// without a value are left out ({} when nothing is known).
nlohmann::ordered_json ServerGroupBuildInfo(const LocalImage& image);

}  // namespace gennaker::clouddriver::local

#endif  // GENNAKER_SERVICES_CLOUDDRIVER_LOCAL_IMAGE_STORE_H_
