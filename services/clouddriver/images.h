// clouddriver's image search (FindImages; Spinnaker's GET /images/find), over
// what the providers list (Provider::Images), provider-agnostic: the images of
// every account the caller may READ (fiat, when authorization is on), of the
// asked cloud provider, account and region, whose name contains the query
// (case-insensitive; "*" or empty: all) and which carry every asked tag with
// its value. Images of one name in several accounts or regions merge into one
// entry, as Spinnaker's search merges them; newest first, at most `limit`.
//
// Each result carries Spinnaker's image JSON:
//   {imageName, imageId, cloudProvider, amis:{<region>:[ids]},
//    attributes:{creationDate:<ISO-8601>}, tags:{...},
//    tagsByImageId:{<id>:{...}}, accounts:[...], region}
#ifndef GENNAKER_SERVICES_CLOUDDRIVER_IMAGES_H_
#define GENNAKER_SERVICES_CLOUDDRIVER_IMAGES_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/fiat/authorizer.h"
#include "services/clouddriver/provider.h"

namespace gennaker::clouddriver {

struct ImageQuery {
  std::string cloud_provider;  // "" = every provider
  std::string query;           // "" or "*" = every name
  std::string account;         // "" = every account
  std::string region;          // "" = every region
  std::map<std::string, std::string> tags;
  int limit = 1000;  // <= 0: 1000
};

struct ImageResult {
  std::string image_id;  // the newest id of the name
  std::string image_name;
  std::string cloud_provider;
  std::vector<std::string> accounts;
  std::vector<std::string> regions;
  std::map<std::string, std::string> tags;
  int64_t created_ms = 0;
  Json json;  // Spinnaker's shape (above)
};

class ImageSearch {
 public:
  // `authorizer` may be null (authorization off).
  ImageSearch(std::vector<Provider*> providers,
              std::shared_ptr<fiat::Authorizer> authorizer);

  // UNAVAILABLE when fiat cannot answer.
  absl::StatusOr<std::vector<ImageResult>> Find(const ImageQuery& query,
                                                const std::string& user);

 private:
  std::vector<Provider*> providers_;
  std::shared_ptr<fiat::Authorizer> authorizer_;
};

}  // namespace gennaker::clouddriver

#endif  // GENNAKER_SERVICES_CLOUDDRIVER_IMAGES_H_
