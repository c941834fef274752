#include "services/gate/gate_bakery.h"

#include <algorithm>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "common/http/http.h"
#include "common/log/call_context.h"
#include "common/spinnaker/identity.h"
#include "common/spinnaker/shapes.h"
#include "gennaker/rosco/v1/rosco.grpc.pb.h"
#include "services/gate/gate_authz.h"
#include "services/gate/gate_builds.h"
#include "services/gate/request.h"

namespace gennaker::gate {
namespace {

namespace rv1 = rosco::v1;
namespace cd = clouddriver::v1;
namespace fv1 = fiat::v1;

constexpr char kBakery[] = "bake options and bake logs";
// Images gate asks clouddriver for at most in one answer.
constexpr int kMaxImages = 10000;

struct ProviderName {
  rv1::CloudProviderType type;
  const char* name;
};

constexpr ProviderName kProviders[] = {
    {rv1::CLOUD_PROVIDER_TYPE_ALICLOUD, "alicloud"},
    {rv1::CLOUD_PROVIDER_TYPE_AWS, "aws"},
    {rv1::CLOUD_PROVIDER_TYPE_AZURE, "azure"},
    {rv1::CLOUD_PROVIDER_TYPE_DOCKER, "docker"},
    {rv1::CLOUD_PROVIDER_TYPE_GCE, "gce"},
    {rv1::CLOUD_PROVIDER_TYPE_HUAWEICLOUD, "huaweicloud"},
    {rv1::CLOUD_PROVIDER_TYPE_ORACLE, "oracle"},
    {rv1::CLOUD_PROVIDER_TYPE_TENCENTCLOUD, "tencentcloud"},
    {rv1::CLOUD_PROVIDER_TYPE_LOCAL, "local"},
};

const char* PackageTypeName(rv1::PackageType type) {
  switch (type) {
    case rv1::PACKAGE_TYPE_DEB:
      return "DEB";
    case rv1::PACKAGE_TYPE_RPM:
      return "RPM";
    case rv1::PACKAGE_TYPE_NUPKG:
      return "NUPKG";
    default:
      return nullptr;
  }
}

Json BaseImageJson(const rv1::BaseImage& b) {
  // The details (virtualization settings, custom repository, vmTypes) first:
  // the typed fields win over a detail of the same name.
  Json j = spinnaker::ParseRendered(b.details());
  if (!j.is_object()) j = Json::object();
  j["id"] = b.id();
  j["shortDescription"] = b.short_description();
  j["detailedDescription"] = b.detailed_description();
  j["displayName"] = b.display_name().empty() ? b.id() : b.display_name();
  if (const char* p = PackageTypeName(b.package_type())) j["packageType"] = p;
  if (!b.template_file().empty()) j["templateFile"] = b.template_file();
  if (!b.os_type().empty()) j["osType"] = b.os_type();
  // rosco's (and Deck's) name for it.
  j["isImageFamily"] = b.image_family();
  return j;
}

// The rosco stub, or the 503 naming the setting.
std::optional<Response> NeedRosco(const Backends& b, const Request& r) {
  if (b.rosco.stub != nullptr) return std::nullopt;
  return NotConfigured("rosco", kBakery, r);
}

// {cloudProvider} of the path, or the 404 Spinnaker's gate answers for a
// provider without bake options.
absl::StatusOr<rv1::CloudProviderType> PathProvider(const Request& r) {
  const std::string& name = r.params.at("cloudProvider");
  std::optional<rv1::CloudProviderType> type = CloudProviderFromName(name);
  if (!type.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("Bake options for cloud provider ", name, " not found"));
  }
  return *type;
}

Response ListBakeOptions(const Backends& b, const Request& r) {
  if (auto e = NeedRosco(b, r)) return *e;
  rv1::ListBakeOptionsRequest req;
  rv1::ListBakeOptionsResponse resp;
  grpc::Status s =
      b.rosco.stub->ListBakeOptions(b.rosco.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  Json out = Json::array();
  for (const rv1::BakeOptions& o : resp.options()) {
    out.push_back(BakeOptionsJson(o));
  }
  return http::Json(200, spinnaker::Dump(out));
}

Response GetBakeOptions(const Backends& b, const Request& r) {
  if (auto e = NeedRosco(b, r)) return *e;
  absl::StatusOr<rv1::CloudProviderType> type = PathProvider(r);
  if (!type.ok()) return ErrorResponse(type.status(), r);
  rv1::GetBakeOptionsRequest req;
  req.set_cloud_provider_type(*type);
  rv1::GetBakeOptionsResponse resp;
  grpc::Status s =
      b.rosco.stub->GetBakeOptions(b.rosco.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return http::Json(200, spinnaker::Dump(BakeOptionsJson(resp.options())));
}

Response GetBaseImage(const Backends& b, const Request& r) {
  if (auto e = NeedRosco(b, r)) return *e;
  absl::StatusOr<rv1::CloudProviderType> type = PathProvider(r);
  if (!type.ok()) return ErrorResponse(type.status(), r);
  rv1::GetBaseImageRequest req;
  req.set_cloud_provider_type(*type);
  req.set_base_image_id(r.params.at("imageId"));
  rv1::GetBaseImageResponse resp;
  grpc::Status s =
      b.rosco.stub->GetBaseImage(b.rosco.Context().get(), req, &resp);
  if (!s.ok()) return ErrorResponse(s, r);
  return http::Json(200, spinnaker::Dump(BaseImageJson(resp.base_image())));
}

// Whether the caller asked for JSON rather than a page (Deck opens the logs
// in a browser tab; scripts ask for JSON).
bool WantsJson(const Request& r) {
  const std::string accept = absl::AsciiStrToLower(r.Header("accept"));
  return absl::StrContains(accept, "application/json") &&
         !absl::StrContains(accept, "text/html");
}

Response GetBakeLogs(const Backends& b, const Request& r) {
  if (auto e = NeedRosco(b, r)) return *e;
  rv1::GetBakeLogsRequest req;
  req.set_region(r.params.at("region"));
  req.set_status_id(r.params.at("statusId"));
  rv1::GetBakeLogsResponse resp;
  grpc::Status s =
      b.rosco.stub->GetBakeLogs(b.rosco.Context().get(), req, &resp);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
    // Deck's "View Bakery Details" link names the bake (the status's
    // resourceId, which Spinnaker's rosco makes the status id too): the logs
    // of the bake that produced its image.
    rv1::GetBakeRequest bake_req;
    bake_req.set_region(req.region());
    bake_req.set_bake_id(req.status_id());
    rv1::GetBakeResponse bake;
    if (b.rosco.stub->GetBake(b.rosco.Context().get(), bake_req, &bake).ok()) {
      const std::string& image = bake.bake().ami().empty()
                                     ? bake.bake().image_name()
                                     : bake.bake().ami();
      if (!image.empty()) {
        req.set_image_id(image);
        resp.Clear();
        s = b.rosco.stub->GetBakeLogs(b.rosco.Context().get(), req, &resp);
      }
    }
  }
  if (!s.ok()) return ErrorResponse(s, r);
  if (resp.logs_content().empty()) {
    return http::Error(404, "Bake logs not found.", r.path);
  }
  if (WantsJson(r)) {
    Json j = Json::object();
    j["statusId"] = resp.status_id();
    j["logsContent"] = resp.logs_content();
    j["complete"] = resp.complete();
    return http::Json(200, spinnaker::Dump(j));
  }
  Response out;
  out.content_type = "text/html; charset=utf-8";
  out.body =
      absl::StrCat("<pre>", http::HtmlEscape(resp.logs_content()), "</pre>");
  return out;
}

// --- images (clouddriver) ---

std::string IsoTime(int64_t ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(ms),
                          absl::UTCTimeZone());
}

Json ImageJson(const cd::Image& image) {
  return spinnaker::RenderedOr(image.json(), [&image] {
    Json j = Json::object();
    j["imageName"] = image.image_name();
    j["imageId"] = image.image_id();
    j["cloudProvider"] = image.cloud_provider();
    j["accounts"] = Json(std::vector<std::string>(image.accounts().begin(),
                                                  image.accounts().end()));
    j["regions"] = Json(std::vector<std::string>(image.regions().begin(),
                                                 image.regions().end()));
    Json tags = Json::object();
    for (const auto& [k, v] : image.tags()) tags[k] = v;
    j["tags"] = std::move(tags);
    if (image.created_at_ms() > 0) {
      j["attributes"] = Json{{"creationDate", IsoTime(image.created_at_ms())}};
    }
    return j;
  });
}

// The accounts of `image` the caller may READ.
std::vector<std::string> ReadableAccounts(const fv1::UserPermission& caller,
                                          const cd::Image& image) {
  std::vector<std::string> out;
  for (const std::string& a : image.accounts()) {
    if (fiat::Allows(caller, fv1::RESOURCE_TYPE_ACCOUNT, a,
                     fv1::AUTHORIZATION_READ)) {
      out.push_back(a);
    }
  }
  return out;
}

// The images of `resp` the caller may see, as JSON: an image with no
// readable account is dropped, its `accounts` cut to the readable ones.
Json VisibleImages(const fv1::UserPermission& caller,
                   const cd::FindImagesResponse& resp,
                   const std::function<bool(const cd::Image&)>& keep) {
  Json out = Json::array();
  for (const cd::Image& image : resp.images()) {
    if (!keep(image)) continue;
    std::vector<std::string> readable = ReadableAccounts(caller, image);
    // An image no account lists belongs to none to protect.
    if (readable.empty() && image.accounts_size() > 0) continue;
    Json j = ImageJson(image);
    if (j.is_object() && j.contains("accounts") && j["accounts"].is_array() &&
        static_cast<int>(readable.size()) != image.accounts_size()) {
      j["accounts"] = Json(readable);
    }
    out.push_back(std::move(j));
  }
  return out;
}

// ?provider= as clouddriver's cloud provider id ("" = every provider).
std::string ProviderOf(const Request& r) {
  return absl::AsciiStrToLower(r.Query("provider"));
}

bool DockerProvider(const std::string& provider) {
  return provider == "dockerregistry" || provider == "docker";
}

Response FindImages(const Backends& b, const Request& r) {
  const std::string provider = ProviderOf(r);
  if (DockerProvider(provider)) return FindDockerImages(b.igor, r);
  absl::StatusOr<int> count = QueryPositiveInt(r, "count", kMaxImages);
  if (!count.ok()) return ErrorResponse(count.status(), r);
  const std::string account = r.Query("account");
  const std::string user =
      spinnaker::UserOrAnonymous(CurrentCallContext().user);
  if (!account.empty()) {
    absl::Status readable = b.authorizer->Check(
        user, fv1::RESOURCE_TYPE_ACCOUNT, account, fv1::AUTHORIZATION_READ);
    if (!readable.ok()) return ErrorResponse(readable, r);
  }
  absl::StatusOr<std::shared_ptr<const fv1::UserPermission>> caller =
      CallerPermission(b);
  if (!caller.ok()) return ErrorResponse(caller.status(), r);
  cd::FindImagesRequest req;
  req.set_cloud_provider(provider);
  req.set_query(r.Query("q"));
  req.set_account(account);
  req.set_region(r.Query("region"));
  req.set_limit(std::min(*count, kMaxImages));
  // Spinnaker's additional filters: ?tag:appversion=... must match.
  for (const auto& [key, value] : r.query) {
    absl::string_view k = key;
    if (absl::ConsumePrefix(&k, "tag:") && !k.empty()) {
      (*req.mutable_tags())[std::string(k)] = value;
    }
  }
  cd::FindImagesResponse resp;
  grpc::Status s =
      b.clouddriver.stub->FindImages(b.clouddriver.Context().get(), req, &resp);
  // No provider that keeps images is built: there are none.
  if (s.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
    return http::Json(200, "[]");
  }
  if (!s.ok()) return ErrorResponse(s, r);
  Json out =
      VisibleImages(**caller, resp, [](const cd::Image&) { return true; });
  return http::Json(200, spinnaker::Dump(out));
}

// GET /images/{account}/{region}/{imageId}: the image with that id or name.
Response GetImage(const Backends& b, const Request& r) {
  absl::StatusOr<std::shared_ptr<const fv1::UserPermission>> caller =
      CallerPermission(b);
  if (!caller.ok()) return ErrorResponse(caller.status(), r);
  const std::string& id = r.params.at("imageId");
  cd::FindImagesRequest req;
  req.set_cloud_provider(ProviderOf(r));
  req.set_account(r.params.at("account"));
  req.set_region(r.params.at("region"));
  req.set_limit(kMaxImages);
  auto same = [&id](const cd::Image& image) {
    return image.image_id() == id || image.image_name() == id;
  };
  // By name first (clouddriver's query is a name fragment), then every image
  // of the account and region for an id.
  for (const std::string& query : {id, std::string()}) {
    req.set_query(query);
    cd::FindImagesResponse resp;
    grpc::Status s = b.clouddriver.stub->FindImages(
        b.clouddriver.Context().get(), req, &resp);
    if (!s.ok()) return ErrorResponse(s, r);
    Json out = VisibleImages(**caller, resp, same);
    if (!out.empty()) return http::Json(200, spinnaker::Dump(out));
  }
  return http::Error(404,
                     absl::StrCat("image '", id, "' not found in account '",
                                  r.params.at("account"), "', region '",
                                  r.params.at("region"), "'"),
                     r.path);
}

}  // namespace

std::optional<rv1::CloudProviderType> CloudProviderFromName(
    absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  for (const ProviderName& p : kProviders) {
    if (lower == p.name) return p.type;
  }
  // Spinnaker's older spelling.
  if (lower == "tencent") return rv1::CLOUD_PROVIDER_TYPE_TENCENTCLOUD;
  return std::nullopt;
}

std::string CloudProviderName(rv1::CloudProviderType type) {
  for (const ProviderName& p : kProviders) {
    if (p.type == type) return p.name;
  }
  return "";
}

Json BakeOptionsJson(const rv1::BakeOptions& options) {
  Json images = Json::array();
  for (const rv1::BaseImage& b : options.base_images()) {
    images.push_back(BaseImageJson(b));
  }
  Json j = Json::object();
  j["cloudProvider"] = CloudProviderName(options.cloud_provider_type());
  j["baseImages"] = std::move(images);
  return j;
}

void AddBakeryRoutes(std::shared_ptr<const Backends> backends,
                     const AddRoute& add) {
  RouteAdder<Backends> get(add, backends);
  get("GET", "/bakery/options", ListBakeOptions);
  get("GET", "/bakery/options/{cloudProvider}", GetBakeOptions);
  get("GET", "/bakery/options/{cloudProvider}/baseImages/{imageId}",
      GetBaseImage);
  get("GET", "/bakery/logs/{region}/{statusId}", GetBakeLogs);
  get("GET", "/images/find", FindImages);
  get("GET", "/images/{account}/{region}/{imageId}", GetImage);
}

}  // namespace gennaker::gate
