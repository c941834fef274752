#include "services/halyard/kubernetes_manifests.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/config/config_loader.h"
#include "common/http/http_client.h"
#include "common/process/process.h"
#include "common/service/service_main.h"
#include "common/testing/status_matchers.h"
#include "common/testing/test_stores.h"
#include "gennaker/halyard/v1/config.pb.h"
#include "services/halyard/halconfig.h"
#include "services/halyard/render.h"
#include "services/halyard/secrets.h"
#include "yaml-cpp/yaml.h"

#ifndef GENNAKER_REFERENCE_MANIFESTS
#error "GENNAKER_REFERENCE_MANIFESTS must name deploy/kubernetes/gennaker.yaml"
#endif

namespace gennaker::halyard {
namespace {

using ::gennaker::testing::IsOk;
using ::gennaker::testing::StatusIs;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPostgresPassword[] = "change-me-postgres";
constexpr char kRedisPassword[] = "change-me-redis";
// The reference render's config-hash key: a placeholder, public in
// deploy/kubernetes/gennaker.yaml's source; halyard generates a real one per
// deployment (KubernetesHashSalt).
constexpr char kPlaceholderHashSalt[] = "placeholder-hash-salt-not-secret";

// What the reference manifests are rendered from.
v1::Halconfig KubernetesConfig() {
  v1::Halconfig c = DefaultHalconfig();
  c.mutable_deployment_environment()->set_type(
      v1::DEPLOYMENT_ENVIRONMENT_TYPE_KUBERNETES);
  return c;
}

KubernetesRenderOptions Options() {
  KubernetesRenderOptions o;
  o.postgres_password = kPostgresPassword;
  o.redis_password = kRedisPassword;
  o.hash_salt = kPlaceholderHashSalt;
  return o;
}

std::vector<KubernetesObject> Render(const v1::Halconfig& c,
                                     const KubernetesRenderOptions& o) {
  auto objects = RenderKubernetesManifests(c, o);
  EXPECT_THAT(objects, IsOk());
  return objects.ok() ? *objects : std::vector<KubernetesObject>{};
}

const KubernetesObject* Find(const std::vector<KubernetesObject>& objects,
                             const std::string& kind, const std::string& name) {
  for (const auto& o : objects) {
    if (o.kind == kind && o.name == name) return &o;
  }
  return nullptr;
}

YAML::Node Parse(const KubernetesObject* o) {
  EXPECT_NE(o, nullptr);
  return o == nullptr ? YAML::Node() : YAML::Load(o->yaml);
}

std::string Problems(const v1::Halconfig& c) {
  std::string out;
  for (const auto& p : Validate(c)) out += p.key() + ": " + p.message() + "\n";
  return out;
}

std::string Set(v1::Halconfig* c, const std::string& key,
                const std::string& value) {
  absl::Status s = config::SetField(c, key, value);
  return s.ok() ? "" : std::string(s.message());
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Secret values, decoded.
std::map<std::string, std::string> SecretData(const KubernetesObject* o) {
  std::map<std::string, std::string> out;
  YAML::Node doc = Parse(o);
  for (const auto& entry : doc["data"]) {
    std::string decoded;
    EXPECT_TRUE(absl::Base64Unescape(entry.second.as<std::string>(), &decoded));
    out[entry.first.as<std::string>()] = decoded;
  }
  return out;
}

TEST(KubernetesManifestsTest, DefaultRendersEveryObjectInApplyOrder) {
  const std::vector<KubernetesObject> objects =
      Render(KubernetesConfig(), Options());
  std::vector<std::string> got;
  for (const auto& o : objects) {
    got.push_back(absl::StrCat(o.kind, "/", o.name));
    // Each document is YAML that says what the object says it is.
    YAML::Node doc = YAML::Load(o.yaml);
    EXPECT_EQ(doc["apiVersion"].as<std::string>(), o.api_version) << o.yaml;
    EXPECT_EQ(doc["kind"].as<std::string>(), o.kind);
    EXPECT_EQ(doc["metadata"]["name"].as<std::string>(), o.name);
    if (o.kind == "Namespace") {
      EXPECT_EQ(o.namespace_name, "");
    } else {
      EXPECT_EQ(o.namespace_name, "gennaker");
      EXPECT_EQ(doc["metadata"]["namespace"].as<std::string>(), "gennaker");
    }
  }
  std::vector<std::string> want = {"Namespace/gennaker",
                                   "Secret/postgres-secrets",
                                   "PersistentVolumeClaim/postgres-data",
                                   "Service/postgres",
                                   "Deployment/postgres",
                                   "Secret/redis-secrets",
                                   "Service/redis",
                                   "Deployment/redis"};
  // The local deployer's start order; no halyard (it stays on the operator's
  // machine) and, with one replica each, no PodDisruptionBudget.
  for (const char* svc : {"fiat", "front50", "clouddriver", "rosco", "igor",
                          "kayenta", "echo", "orca", "gate"}) {
    for (const char* kind : {"ConfigMap", "Secret", "Service", "Deployment"}) {
      std::string name = svc;
      if (std::string(kind) == "ConfigMap") name += "-config";
      if (std::string(kind) == "Secret") name += "-secrets";
      want.push_back(absl::StrCat(kind, "/", name));
    }
  }
  EXPECT_THAT(got, ElementsAreArray(want));
}

TEST(KubernetesManifestsTest, DeploymentRunsTheImageWithProbesAndSizing) {
  v1::Halconfig c = KubernetesConfig();
  ASSERT_EQ(Set(&c, "deploymentEnvironment.imageRepository",
                "registry.example.com:5000/team/gennaker"),
            "");
  ASSERT_EQ(Set(&c, "deploymentEnvironment.imageTag", "1.2.3"), "");
  ASSERT_EQ(Set(&c,
                "deploymentEnvironment.customSizing.orca.resources."
                "requests.memory",
                "256Mi"),
            "");
  ASSERT_EQ(Set(&c,
                "deploymentEnvironment.customSizing.orca.resources.limits."
                "cpu",
                "2"),
            "");
  ASSERT_EQ(Set(&c, "deploymentEnvironment.gateServiceType", "LoadBalancer"),
            "");
  const auto objects = Render(c, Options());
  YAML::Node orca = Parse(Find(objects, "Deployment", "orca"));
  YAML::Node container = orca["spec"]["template"]["spec"]["containers"][0];
  EXPECT_EQ(container["image"].as<std::string>(),
            "registry.example.com:5000/team/gennaker:1.2.3");
  EXPECT_EQ(container["command"][0].as<std::string>(),
            "/opt/gennaker/bin/orca");
  EXPECT_EQ(container["command"][2].as<std::string>(),
            "/etc/gennaker/orca.yml");
  EXPECT_EQ(container["readinessProbe"]["exec"]["command"][2].as<std::string>(),
            "127.0.0.1:8083");
  EXPECT_EQ(container["livenessProbe"]["httpGet"]["port"].as<int>(), 18083);
  // Liveness on /livez (no dependency check: a store outage must not restart
  // the pods); start-up on the same gRPC health exec as readiness, with room
  // for the 120 s store wait at start.
  EXPECT_EQ(container["livenessProbe"]["httpGet"]["path"].as<std::string>(),
            "/livez");
  YAML::Node startup = container["startupProbe"];
  ASSERT_TRUE(startup.IsMap()) << container;
  EXPECT_EQ(YAML::Dump(startup["exec"]),
            YAML::Dump(container["readinessProbe"]["exec"]));
  EXPECT_EQ(startup["periodSeconds"].as<int>(), 5);
  EXPECT_EQ(startup["failureThreshold"].as<int>(), 30);
  EXPECT_GE(startup["periodSeconds"].as<int>() *
                startup["failureThreshold"].as<int>(),
            120 + 10);
  // The stores keep their own probes and need no start-up probe.
  for (const char* store : {"postgres", "redis"}) {
    YAML::Node c =
        Parse(Find(objects, "Deployment",
                   store))["spec"]["template"]["spec"]["containers"][0];
    EXPECT_TRUE(c["livenessProbe"]["tcpSocket"].IsMap()) << store;
    EXPECT_TRUE(c["readinessProbe"]["exec"].IsMap()) << store;
    EXPECT_FALSE(c["startupProbe"].IsDefined()) << store;
  }
  EXPECT_EQ(container["resources"]["requests"]["memory"].as<std::string>(),
            "256Mi");
  EXPECT_EQ(container["resources"]["requests"]["cpu"].as<std::string>(), "50m");
  EXPECT_EQ(container["resources"]["limits"]["cpu"].as<std::string>(), "2");
  EXPECT_EQ(container["resources"]["limits"]["memory"].as<std::string>(),
            "512Mi");
  EXPECT_EQ(container["securityContext"]["runAsUser"].as<int>(), 10001);
  EXPECT_FALSE(
      container["securityContext"]["allowPrivilegeEscalation"].as<bool>());
  EXPECT_EQ(orca["spec"]["template"]["metadata"]["labels"]
                ["app.kubernetes.io/version"]
                    .as<std::string>(),
            c.version());
  EXPECT_EQ(
      orca["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"].as<int>(), 0);
  EXPECT_EQ(orca["spec"]["progressDeadlineSeconds"].as<int>(), 300);
  YAML::Node gate = Parse(Find(objects, "Service", "gate"));
  EXPECT_EQ(gate["spec"]["type"].as<std::string>(), "LoadBalancer");
  std::set<std::string> port_names;
  for (const auto& p : gate["spec"]["ports"]) {
    port_names.insert(p["name"].as<std::string>());
  }
  EXPECT_EQ(port_names, (std::set<std::string>{"grpc", "admin", "http"}));
  EXPECT_EQ(
      Parse(Find(objects, "Service", "orca"))["spec"]["type"].as<std::string>(),
      "ClusterIP");
  // The config the pod reads: bound on every interface, JSON logs, the
  // dependencies at their Service names, paths inside the image.
  const std::string orca_config =
      Parse(Find(objects, "ConfigMap", "orca-config"))["data"]["orca.yml"]
          .as<std::string>();
  EXPECT_THAT(orca_config, HasSubstr("host: \"0.0.0.0\""));
  EXPECT_THAT(orca_config, HasSubstr("format: \"json\""));
  EXPECT_THAT(orca_config, HasSubstr("address: \"clouddriver:7002\""));
  const std::string rosco_config =
      Parse(Find(objects, "ConfigMap", "rosco-config"))["data"]["rosco.yml"]
          .as<std::string>();
  EXPECT_THAT(rosco_config, HasSubstr("/opt/gennaker/share/rosco/packer"));
  EXPECT_THAT(rosco_config, HasSubstr("/var/lib/gennaker/data/images"));
}

TEST(KubernetesManifestsTest, UiOnlyWhenAskedFor) {
  // The image has a UI bundle only when built with one: the default render
  // leaves it off, ui.enabled true turns it on with the image's bundle.
  auto gate_config = [](const std::vector<KubernetesObject>& objects) {
    return Parse(Find(objects, "ConfigMap", "gate-config"))["data"]["gate.yml"]
        .as<std::string>();
  };
  v1::Halconfig c = KubernetesConfig();
  EXPECT_THAT(gate_config(Render(c, Options())), Not(HasSubstr("ui:")));
  ASSERT_EQ(Set(&c, "ui.enabled", "true"), "");
  const auto objects = Render(c, Options());
  EXPECT_THAT(gate_config(objects), HasSubstr("/opt/gennaker/ui/deck"));
  bool ui_port = false;
  for (const auto& p :
       Parse(Find(objects, "Service", "gate"))["spec"]["ports"]) {
    ui_port |=
        p["name"].as<std::string>() == "ui" && p["port"].as<int>() == 9000;
  }
  EXPECT_TRUE(ui_port);
}

TEST(KubernetesManifestsTest, ReplicasAndDisruptionBudgetsOnlyWhenReplicated) {
  v1::Halconfig c = KubernetesConfig();
  ASSERT_EQ(Set(&c, "deploymentEnvironment.customSizing.orca.replicas", "2"),
            "");
  ASSERT_EQ(Set(&c, "deploymentEnvironment.customSizing.gate.replicas", "3"),
            "");
  const auto objects = Render(c, Options());
  EXPECT_EQ(
      Parse(Find(objects, "Deployment", "orca"))["spec"]["replicas"].as<int>(),
      2);
  EXPECT_EQ(
      Parse(Find(objects, "Deployment", "gate"))["spec"]["replicas"].as<int>(),
      3);
  EXPECT_EQ(Parse(Find(objects, "Deployment", "front50"))["spec"]["replicas"]
                .as<int>(),
            1);
  std::vector<std::string> budgets;
  for (size_t i = 0; i < objects.size(); ++i) {
    if (objects[i].kind != "PodDisruptionBudget") continue;
    budgets.push_back(objects[i].name);
    // Right after its Deployment.
    ASSERT_GT(i, 0u);
    EXPECT_EQ(objects[i - 1].kind, "Deployment");
    EXPECT_EQ(objects[i - 1].name, objects[i].name);
    YAML::Node pdb = YAML::Load(objects[i].yaml);
    EXPECT_EQ(pdb["apiVersion"].as<std::string>(), "policy/v1");
    EXPECT_EQ(pdb["spec"]["minAvailable"].as<int>(), 1);
    EXPECT_EQ(pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
                  .as<std::string>(),
              objects[i].name);
  }
  EXPECT_THAT(budgets, ElementsAreArray({"orca", "gate"}));
}

TEST(KubernetesManifestsTest, NoSecretValueInAnyConfigMap) {
  v1::Halconfig c = KubernetesConfig();
  auto* slack = c.mutable_notifications()->mutable_slack();
  slack->set_enabled(true);
  slack->set_token("xoxb-slack-secret-token");
  c.mutable_triggers()->set_git_shared_secret("git-shared-secret-value");
  auto* jenkins = c.mutable_ci()->add_jenkins();
  jenkins->set_name("ci");
  jenkins->set_address("https://jenkins.example.com/");
  jenkins->set_username("bot");
  jenkins->set_password("jenkins-secret-password");
  const auto objects = Render(c, Options());
  const std::vector<std::string> secrets = {
      kPostgresPassword, kRedisPassword, "xoxb-slack-secret-token",
      "git-shared-secret-value", "jenkins-secret-password"};
  int config_maps = 0;
  for (const auto& o : objects) {
    if (o.kind == "Secret") continue;
    if (o.kind == "ConfigMap") ++config_maps;
    for (const std::string& secret : secrets) {
      EXPECT_THAT(o.yaml, Not(HasSubstr(secret))) << o.kind << "/" << o.name;
    }
  }
  EXPECT_EQ(config_maps, 9);
  // They are in the Secrets, as the services' environment overrides.
  auto echo = SecretData(Find(objects, "Secret", "echo-secrets"));
  EXPECT_EQ(echo["GENNAKER__NOTIFICATIONS__SLACK__TOKEN"],
            "xoxb-slack-secret-token");
  EXPECT_EQ(echo["GENNAKER__EVENTS__GIT_SHARED_SECRET"],
            "git-shared-secret-value");
  EXPECT_EQ(echo["GENNAKER__POSTGRES__DSN"],
            "host=postgres port=5432 dbname=gennaker user=postgres "
            "password=change-me-postgres");
  auto gate = SecretData(Find(objects, "Secret", "gate-secrets"));
  EXPECT_EQ(gate["GENNAKER__REDIS__URL"],
            "redis://:change-me-redis@redis:6379");
  EXPECT_EQ(SecretData(Find(objects, "Secret",
                            "postgres-secrets"))["POSTGRES_PASSWORD"],
            kPostgresPassword);
  // A password inside a list has no override: igor's whole config is in its
  // Secret, and its pod mounts it from there.
  auto igor = SecretData(Find(objects, "Secret", "igor-secrets"));
  EXPECT_THAT(igor["igor.yml"], HasSubstr("jenkins-secret-password"));
  YAML::Node igor_deployment = Parse(Find(objects, "Deployment", "igor"));
  EXPECT_EQ(igor_deployment["spec"]["template"]["spec"]["volumes"][0]["secret"]
                           ["secretName"]
                               .as<std::string>(),
            "igor-secrets");
  YAML::Node orca_deployment = Parse(Find(objects, "Deployment", "orca"));
  EXPECT_EQ(orca_deployment["spec"]["template"]["spec"]["volumes"][0]
                           ["configMap"]["name"]
                               .as<std::string>(),
            "orca-config");
}

TEST(KubernetesManifestsTest, SecretOverridesRebuildTheRenderedConfig) {
  // ConfigMap file + the Secret's GENNAKER__ variables, loaded as a service
  // loads them, give back the config with its secrets.
  v1::Halconfig c = KubernetesConfig();
  c.mutable_notifications()->mutable_slack()->set_enabled(true);
  c.mutable_notifications()->mutable_slack()->set_token("xoxb-1");
  const auto objects = Render(c, Options());
  const std::string file =
      Parse(Find(objects, "ConfigMap", "echo-config"))["data"]["echo.yml"]
          .as<std::string>();
  auto env = SecretData(Find(objects, "Secret", "echo-secrets"));
  std::unique_ptr<google::protobuf::Message> m = NewServiceConfig("echo");
  ASSERT_THAT(config::MergeYaml(file, "echo.yml", m.get()), IsOk());
  ASSERT_THAT(config::ApplyEnvOverrides(
                  std::vector<std::pair<std::string, std::string>>(env.begin(),
                                                                   env.end()),
                  m.get()),
              IsOk());
  EXPECT_EQ(*config::GetField(*m, "notifications.slack.token"), "xoxb-1");
  EXPECT_EQ(*config::GetField(*m, "postgres.dsn"),
            "host=postgres port=5432 dbname=gennaker user=postgres "
            "password=change-me-postgres");
  EXPECT_EQ(*config::GetField(*m, "services.orca.address"), "orca:8083");
}

TEST(KubernetesManifestsTest, PodAddressesSpreadConsumersOverReplicas) {
  v1::Halconfig c = KubernetesConfig();
  ASSERT_EQ(
      Set(&c, "deploymentEnvironment.customSizing.clouddriver.replicas", "2"),
      "");
  KubernetesRenderOptions o = Options();
  o.pod_addresses = true;
  const auto objects = Render(c, o);
  auto config_of = [&](const std::string& svc) {
    return Parse(Find(objects, "ConfigMap",
                      svc + "-config"))["data"][svc + ".yml"]
        .as<std::string>();
  };
  // fiat, rosco, orca and gate reach clouddriver, in the deployer's order:
  // the replicas in turn.
  EXPECT_THAT(config_of("fiat"), HasSubstr("clouddriver-pod-0:7002"));
  EXPECT_THAT(config_of("rosco"), HasSubstr("clouddriver-pod-1:7002"));
  EXPECT_THAT(config_of("orca"), HasSubstr("clouddriver-pod-0:7002"));
  EXPECT_THAT(config_of("gate"), HasSubstr("clouddriver-pod-1:7002"));
  EXPECT_THAT(config_of("gate"), HasSubstr("orca-pod-0:8083"));
  auto gate = SecretData(Find(objects, "Secret", "gate-secrets"));
  EXPECT_EQ(gate["GENNAKER__REDIS__URL"],
            "redis://:change-me-redis@redis-pod-0:6379");
  // The same input renders the same bytes.
  EXPECT_EQ(JoinManifests(objects), JoinManifests(Render(c, o)));
  // Without pod addresses: Service names.
  EXPECT_THAT(Parse(Find(Render(c, Options()), "ConfigMap",
                         "orca-config"))["data"]["orca.yml"]
                  .as<std::string>(),
              HasSubstr("address: \"clouddriver:7002\""));
}

TEST(KubernetesManifestsTest, ConfigHashRollsOnlyTheChangedService) {
  auto hash = [](const std::vector<KubernetesObject>& objects,
                 const std::string& svc) {
    return Parse(Find(objects, "Deployment",
                      svc))["spec"]["template"]["metadata"]["annotations"]
                           ["gennaker.io/config-hash"]
                               .as<std::string>();
  };
  v1::Halconfig c = KubernetesConfig();
  const auto before = Render(c, Options());
  ASSERT_EQ(Set(&c, "services.orca.logLevel", "debug"), "");
  const auto after = Render(c, Options());
  EXPECT_NE(hash(before, "orca"), hash(after, "orca"));
  EXPECT_EQ(hash(before, "front50"), hash(after, "front50"));
  // A secret alone changes it too.
  KubernetesRenderOptions o = Options();
  o.postgres_password = "another-password";
  const auto rotated = Render(c, o);
  EXPECT_NE(hash(after, "front50"), hash(rotated, "front50"));
  EXPECT_NE(hash(after, "postgres"), hash(rotated, "postgres"));
  EXPECT_EQ(hash(after, "gate"), hash(rotated, "gate"));  // Redis only
}

TEST(KubernetesManifestsTest, ExternalStorageRendersNoStores) {
  v1::Halconfig c = KubernetesConfig();
  ASSERT_EQ(Set(&c, "storage.mode", "EXTERNAL"), "");
  ASSERT_EQ(Set(&c, "storage.postgres.dsn",
                "host=db.example.com dbname=spin user=spin password=pgpw1"),
            "");
  ASSERT_EQ(
      Set(&c, "storage.redis.url", "redis://:rpw1@cache.example.com:6379"), "");
  // No store passwords needed.
  KubernetesRenderOptions no_passwords;
  no_passwords.hash_salt = kPlaceholderHashSalt;
  const auto objects = Render(c, no_passwords);
  for (const auto& o : objects) {
    EXPECT_THAT(o.name, Not(HasSubstr("postgres"))) << o.kind;
    EXPECT_THAT(o.name, Not(HasSubstr("redis"))) << o.kind;
    if (o.kind != "Secret") {
      EXPECT_THAT(o.yaml, Not(HasSubstr("pgpw1")));
      EXPECT_THAT(o.yaml, Not(HasSubstr("rpw1")));
    }
  }
  EXPECT_EQ(objects[0].kind, "Namespace");
  EXPECT_EQ(objects[1].name, "fiat-config");
  EXPECT_EQ(SecretData(Find(objects, "Secret",
                            "orca-secrets"))["GENNAKER__POSTGRES__DSN"],
            "host=db.example.com dbname=spin user=spin password=pgpw1");
}

TEST(KubernetesManifestsTest, RefusesWhatItCannotRender) {
  EXPECT_THAT(RenderKubernetesManifests(DefaultHalconfig(), Options()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("deploymentEnvironment.type")));
  EXPECT_THAT(
      RenderKubernetesManifests(KubernetesConfig(), KubernetesRenderOptions{}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("postgres_password")));
  v1::Halconfig c = KubernetesConfig();
  ASSERT_EQ(Set(&c, "deploymentEnvironment.namespace", "Not_A_Label"), "");
  EXPECT_THAT(RenderKubernetesManifests(c, Options()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("deploymentEnvironment.namespace")));
}

TEST(KubernetesManifestsTest, ValidationNamesEachBadValue) {
  v1::Halconfig c = KubernetesConfig();
  EXPECT_EQ(Problems(c), "");
  const std::string p = "deploymentEnvironment.";
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{
           {"namespace", "-bad-"},
           {"imageRepository", "Registry/UPPER"},
           {"imageTag", ".tag"},
           {"imagePullPolicy", "Sometimes"},
           {"postgresImage", "postgres:15 latest"},
           {"rolloutTimeoutSeconds", "5"},
           {"gateServiceType", "ExternalName"},
           {"customSizing.orca.replicas", "0"},
           {"customSizing.gate.replicas", "21"},
           {"customSizing.echo.resources.requests.cpu", "lots"},
           {"customSizing.fiat.resources.requests.memory", "2Gi"},
           {"customSizing.igor.resources.limits.cpu", "10m"},
       }) {
    ASSERT_EQ(Set(&c, p + key, value), "") << key;
  }
  const std::string problems = Problems(c);
  EXPECT_THAT(problems, HasSubstr(p + "namespace: must be a DNS-1123 label"));
  EXPECT_THAT(problems, HasSubstr(p + "imageRepository: must be an image "
                                      "repository"));
  EXPECT_THAT(problems, HasSubstr(p + "imageTag: must be an image tag"));
  EXPECT_THAT(problems, HasSubstr(p + "imagePullPolicy: must be IfNotPresent, "
                                      "Always or Never"));
  EXPECT_THAT(problems, HasSubstr(p + "postgresImage: must be an image "
                                      "reference"));
  EXPECT_THAT(problems, HasSubstr(p + "rolloutTimeoutSeconds: must be in "
                                      "10..3600"));
  EXPECT_THAT(problems, HasSubstr(p + "gateServiceType: must be ClusterIP, "
                                      "NodePort or LoadBalancer"));
  EXPECT_THAT(problems, HasSubstr(p + "customSizing.orca.replicas: must be in "
                                      "1..20, got 0"));
  EXPECT_THAT(problems, HasSubstr(p + "customSizing.gate.replicas: must be in "
                                      "1..20, got 21"));
  EXPECT_THAT(problems,
              HasSubstr(p + "customSizing.echo.resources.requests.cpu: 'lots' "
                            "is not a Kubernetes quantity"));
  EXPECT_THAT(problems, HasSubstr(p + "customSizing.fiat.resources.requests."
                                      "memory: the request 2Gi exceeds the "
                                      "limit 512Mi (the default)"));
  EXPECT_THAT(problems, HasSubstr(p + "customSizing.igor.resources.limits.cpu: "
                                      "the limit 10m is below the request 50m "
                                      "(the default)"));
  // halyard is not deployed in the cluster: it has no sizing.
  EXPECT_THAT(Set(&c, p + "customSizing.halyard.replicas", "2"),
              HasSubstr("unknown key"));
}

TEST(KubernetesManifestsTest, QuantitiesAndReferencesThatAreValid) {
  v1::Halconfig c = KubernetesConfig();
  const std::string p = "deploymentEnvironment.";
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{
           {"namespace", "spin-2"},
           {"imageRepository", "localhost:5000/team/gen_naker"},
           {"imageTag", "v1.0.0-rc.1"},
           {"postgresImage",
            "registry.example.com/pg:15@sha256:"
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
           {"redisImage", "redis"},
           {"customSizing.orca.resources.requests.cpu", "0.5"},
           {"customSizing.orca.resources.limits.cpu", "500m"},
           {"customSizing.orca.resources.requests.memory", "1e8"},
           {"customSizing.orca.resources.limits.memory", "1G"},
           {"customSizing.gate.replicas", "20"},
       }) {
    ASSERT_EQ(Set(&c, p + key, value), "") << key;
  }
  EXPECT_EQ(Problems(c), "");
}

TEST(KubernetesManifestsTest, LoopbackStoresAreRefusedUnderKubernetes) {
  v1::Halconfig c = KubernetesConfig();
  c.mutable_storage()->set_mode(v1::STORAGE_MODE_EXTERNAL);
  c.mutable_storage()->mutable_postgres()->set_dsn(
      "host=127.0.0.1 port=5432 dbname=gennaker");
  c.mutable_storage()->mutable_redis()->set_url("redis://localhost:6379");
  std::string problems = Problems(c);
  EXPECT_THAT(problems, HasSubstr("storage.postgres.dsn: names 127.0.0.1, a "
                                  "loopback host: pods cannot reach"));
  EXPECT_THAT(problems, HasSubstr("storage.redis.url: names localhost, a "
                                  "loopback host"));
  c.mutable_storage()->mutable_postgres()->set_dsn("dbname=gennaker");
  EXPECT_THAT(Problems(c), HasSubstr("storage.postgres.dsn: names no host (a "
                                     "local Unix socket)"));
  c.mutable_storage()->mutable_postgres()->set_dsn(
      "postgresql://u:p@[::1]:5432/gennaker");
  EXPECT_THAT(Problems(c), HasSubstr("storage.postgres.dsn: names [::1]"));
  c.mutable_storage()->mutable_postgres()->set_dsn(
      "postgresql://u:p@db.example.com:5432/gennaker");
  c.mutable_storage()->mutable_redis()->set_url("redis://:pw@cache:6379/0");
  EXPECT_EQ(Problems(c), "");
  // The same loopback stores are fine for a local deployment, and service
  // hosts on loopback are ignored under Kubernetes.
  c.mutable_storage()->mutable_postgres()->set_dsn("host=127.0.0.1");
  c.mutable_deployment_environment()->set_type(
      v1::DEPLOYMENT_ENVIRONMENT_TYPE_LOCAL);
  EXPECT_EQ(Problems(c), "");
}

TEST(KubernetesManifestsTest, InvalidValuesLeaveTheSavedFileUnchanged) {
  const std::string dir = testing::MakeTempDir("k8s-halconfig");
  const std::string path = dir + "/config";
  v1::Halconfig c = DefaultHalconfig();
  // As `halyard config set` spells it.
  ASSERT_EQ(Set(&c, "deploymentEnvironment.type", "KUBERNETES"), "");
  EXPECT_TRUE(KubernetesDeployment(c));
  ASSERT_THAT(SaveHalconfig(path, c), IsOk());
  const std::string before = ReadFile(path);
  EXPECT_THAT(before, HasSubstr("deploymentEnvironment"));
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{
           {"deploymentEnvironment.namespace", "UPPER"},
           {"deploymentEnvironment.customSizing.clouddriver.replicas", "50"},
           {"deploymentEnvironment.customSizing.gate.resources.limits.memory",
            "32Mi"},
           {"deploymentEnvironment.rolloutTimeoutSeconds", "7200"},
           {"deploymentEnvironment.imageTag", "has space"},
       }) {
    auto loaded = LoadHalconfig(path);
    ASSERT_THAT(loaded, IsOk());
    ASSERT_EQ(Set(&*loaded, key, value), "") << key;
    EXPECT_THAT(SaveHalconfig(path, *loaded),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(key)));
    EXPECT_EQ(ReadFile(path), before) << key;
  }
  // A valid change is saved and read back.
  auto loaded = LoadHalconfig(path);
  ASSERT_THAT(loaded, IsOk());
  ASSERT_EQ(Set(&*loaded,
                "deploymentEnvironment.customSizing.clouddriver.replicas", "2"),
            "");
  ASSERT_THAT(SaveHalconfig(path, *loaded), IsOk());
  auto reread = LoadHalconfig(path);
  ASSERT_THAT(reread, IsOk());
  EXPECT_EQ(
      reread->deployment_environment().custom_sizing().clouddriver().replicas(),
      2);
  testing::RemoveTree(dir);
}

TEST(KubernetesManifestsTest, EffectiveDeploymentEnvironmentDefaults) {
  v1::Halconfig c = DefaultHalconfig();
  v1::HalDeploymentEnvironment env = EffectiveDeploymentEnvironment(c);
  EXPECT_EQ(env.type(), v1::DEPLOYMENT_ENVIRONMENT_TYPE_LOCAL);
  EXPECT_EQ(env.namespace_(), "gennaker");
  EXPECT_EQ(env.image_repository(), "gennaker");
  EXPECT_EQ(env.image_tag(), c.version());
  EXPECT_EQ(env.image_pull_policy(), "IfNotPresent");
  EXPECT_EQ(env.postgres_image(), "docker.io/library/postgres:15");
  EXPECT_EQ(env.redis_image(), "docker.io/library/redis:7");
  EXPECT_EQ(env.rollout_timeout_seconds(), 300);
  EXPECT_EQ(env.gate_service_type(), "ClusterIP");
  EXPECT_EQ(env.custom_sizing().kayenta().replicas(), 1);
  EXPECT_EQ(env.custom_sizing().kayenta().resources().requests().memory(),
            "64Mi");
  EXPECT_EQ(env.custom_sizing().kayenta().resources().limits().cpu(), "");
  // Applying it twice changes nothing; saving a default config adds nothing.
  *c.mutable_deployment_environment() = env;
  EXPECT_EQ(EffectiveDeploymentEnvironment(c).SerializeAsString(),
            env.SerializeAsString());
  EXPECT_THAT(config::ToYaml(DefaultHalconfig()),
              Not(HasSubstr("deploymentEnvironment")));
}

TEST(KubernetesManifestsTest, NothingOfThisMachineLeaks) {
  const std::string yaml = JoinManifests(Render(KubernetesConfig(), Options()));
  std::error_code ec;
  const std::string cwd = std::filesystem::current_path(ec).string();
  ASSERT_FALSE(cwd.empty());
  EXPECT_THAT(yaml, Not(HasSubstr(cwd)));
  if (const char* home = std::getenv("HOME");
      home != nullptr && std::string(home).size() > 1) {
    EXPECT_THAT(yaml, Not(HasSubstr(home)));
  }
  EXPECT_THAT(yaml, Not(HasSubstr("/.hal/")));
  EXPECT_THAT(yaml, Not(HasSubstr("/var/lib/gennaker/default")));
  // Version-like strings are quoted (YAML would read 0.1 as a number).
  EXPECT_THAT(yaml,
              HasSubstr(absl::StrCat("app.kubernetes.io/version: \"",
                                     DefaultHalconfig().version(), "\"")));
}

// A service whose store stays unreachable: the watchdog keeps it
// NOT_SERVING.
class StoreDownInstance : public ServiceInstance {
 public:
  std::vector<grpc::Service*> GrpcServices() override { return {}; }
  absl::Status CheckDependencies() override {
    return absl::UnavailableError("PostgreSQL: connection refused");
  }
};

http::ClientResponse Get(int port, const std::string& path) {
  http::ClientRequest req;
  req.url = absl::StrCat("http://127.0.0.1:", port, path);
  auto r = http::Fetch(req);
  return r.ok() ? *r : http::ClientResponse{};
}

TEST(KubernetesManifestsTest, LivenessPathAnswersWhileAStoreIsDown) {
  // The path the rendered livenessProbe names, served by the real service
  // main loop (RunServiceMain) of a service whose dependency check fails:
  // /health says 503 (readiness is the gRPC health, NOT_SERVING), /livez
  // stays 200, so the kubelet does not restart pods over a store outage.
  YAML::Node probe = Parse(Find(
      Render(KubernetesConfig(), Options()), "Deployment",
      "orca"))["spec"]["template"]["spec"]["containers"][0]["livenessProbe"];
  const std::string path = probe["httpGet"]["path"].as<std::string>();
  auto grpc_port = process::FreePort();
  auto admin_port = process::FreePort();
  ASSERT_THAT(grpc_port, IsOk());
  ASSERT_THAT(admin_port, IsOk());
  ASSERT_NE(*grpc_port, *admin_port);
  const std::string dir = testing::MakeTempDir("livez");
  const std::string config_path = dir + "/svc.yml";
  {
    std::ofstream out(config_path);
    out << "server: {host: \"127.0.0.1\", grpcPort: " << *grpc_port
        << ", adminPort: " << *admin_port << ", shutdownGraceSeconds: 1}\n";
  }
  int exit_code = -1;
  std::thread service([&] {
    std::string arg0 = "livez-test", arg1 = "--config", arg2 = config_path;
    char* argv[] = {arg0.data(), arg1.data(), arg2.data()};
    exit_code = ServiceMain<v1::HalyardConfig>(
        3, argv, "halyard", "test", nullptr,
        [](const v1::HalyardConfig&,
           Metrics*) -> absl::StatusOr<std::unique_ptr<ServiceInstance>> {
          return std::make_unique<StoreDownInstance>();
        });
  });
  // Until the watchdog has found the store down.
  http::ClientResponse health;
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  while (absl::Now() < deadline) {
    health = Get(*admin_port, "/health");
    if (health.status == 503) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(health.status, 503) << health.body;
  EXPECT_THAT(health.body, HasSubstr("\"DOWN\""));
  http::ClientResponse live = Get(*admin_port, path);
  EXPECT_EQ(live.status, 200);
  EXPECT_EQ(live.body, R"({"status":"UP"})");
  // SIGTERM to the service's thread (it waits for it with sigwait).
  ASSERT_EQ(pthread_kill(service.native_handle(), SIGTERM), 0);
  service.join();
  EXPECT_EQ(exit_code, 0);
  testing::RemoveTree(dir);
}

TEST(KubernetesManifestsTest, ConfigHashIsKeyedWithTheSalt) {
  auto hashes = [](const std::vector<KubernetesObject>& objects) {
    std::map<std::string, std::string> out;
    for (const auto& o : objects) {
      if (o.kind != "Deployment") continue;
      out[o.name] = YAML::Load(o.yaml)["spec"]["template"]["metadata"]
                                      ["annotations"]["gennaker.io/config-hash"]
                                          .as<std::string>();
    }
    return out;
  };
  const v1::Halconfig c = KubernetesConfig();
  const auto a = hashes(Render(c, Options()));
  EXPECT_EQ(a, hashes(Render(c, Options())));  // same salt, same hashes
  KubernetesRenderOptions other = Options();
  other.hash_salt = "another-salt-0123456789";
  const auto b = hashes(Render(c, other));
  ASSERT_EQ(a.size(), 11u);  // 9 services, PostgreSQL, Redis
  for (const auto& [name, hash] : a) {
    EXPECT_EQ(hash.size(), 64u) << name;
    EXPECT_NE(hash, b.at(name)) << name << ": the salt must key every hash";
  }
  // No salt, or a short one, is refused: the hash would be guessable.
  for (const std::string& salt : {std::string(), std::string("short"),
                                  std::string("has space in it 0123")}) {
    KubernetesRenderOptions o = Options();
    o.hash_salt = salt;
    EXPECT_THAT(
        RenderKubernetesManifests(c, o),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("hash_salt")))
        << salt;
  }
}

TEST(KubernetesManifestsTest, HashSaltIsGeneratedOnceAndKept) {
  const std::string dir = testing::MakeTempDir("k8s-salt");
  auto first = KubernetesHashSalt(dir);
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->size(), 32u);
  auto again = KubernetesHashSalt(dir);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(*again, *first);
  struct stat st {};
  ASSERT_EQ(stat(KubernetesHashSaltPath(dir).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(KubernetesHashSaltPath(dir), dir + "/secrets/kubernetes-hash.salt");
  // Usable as the render's salt; not one of the store passwords.
  auto stores = EnsureStoreSecrets(dir);
  ASSERT_THAT(stores, IsOk());
  EXPECT_NE(*first, stores->postgres_password);
  EXPECT_NE(*first, stores->redis_password);
  KubernetesRenderOptions o = Options();
  o.hash_salt = *first;
  EXPECT_THAT(RenderKubernetesManifests(KubernetesConfig(), o), IsOk());
  testing::RemoveTree(dir);
}

// Paths of the message fields present in `m` ("a.b", lists as "a[0].b").
void PresentSections(const google::protobuf::Message& m,
                     const std::string& prefix, std::set<std::string>* out,
                     std::set<std::string>* empty) {
  using google::protobuf::FieldDescriptor;
  const auto* r = m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (f->is_repeated()) {
      for (int i = 0; i < r->FieldSize(m, f); ++i) {
        PresentSections(r->GetRepeatedMessage(m, f, i),
                        absl::StrCat(prefix, f->name(), "[", i, "]."), out,
                        empty);
      }
      continue;
    }
    const auto& sub = r->GetMessage(m, f);
    const std::string path = prefix + f->name();
    out->insert(path);
    if (sub.ByteSizeLong() == 0) empty->insert(path);
    PresentSections(sub, path + ".", out, empty);
  }
}

// A service's config as its pod loads it: the ConfigMap's file, then the
// Secret's GENNAKER__ overrides.
std::unique_ptr<google::protobuf::Message> PodConfig(
    const std::vector<KubernetesObject>& objects, const std::string& svc) {
  std::unique_ptr<google::protobuf::Message> m = NewServiceConfig(svc);
  EXPECT_THAT(
      config::MergeYaml(Parse(Find(objects, "ConfigMap",
                                   svc + "-config"))["data"][svc + ".yml"]
                            .as<std::string>(),
                        svc, m.get()),
      IsOk());
  std::vector<std::pair<std::string, std::string>> env;
  for (const auto& [k, v] :
       SecretData(Find(objects, "Secret", svc + "-secrets"))) {
    if (absl::StartsWith(k, "GENNAKER__")) env.emplace_back(k, v);
  }
  EXPECT_THAT(config::ApplyEnvOverrides(env, m.get()), IsOk());
  return m;
}

TEST(KubernetesManifestsTest, SectionsEmptyBeforeExtractionStay) {
  // Only sections that secret extraction emptied leave the ConfigMap (their
  // overrides restore them); one that was empty already ("slack: {}") must
  // stay, since its presence may matter and no override brings it back.
  v1::Halconfig c = KubernetesConfig();
  auto* jenkins = c.mutable_ci()->add_jenkins();
  jenkins->set_name("ci");
  jenkins->set_address("https://jenkins.example.com/");
  jenkins->set_username("bot");
  jenkins->set_password("jenkins-secret-password");
  ASSERT_EQ(Set(&c, "canary.prometheus.baseUrl", "http://prom:9090"), "");
  ASSERT_EQ(Set(&c, "canary.prometheus.username", "u"), "");
  ASSERT_EQ(Set(&c, "canary.prometheus.password", "prom-secret"), "");
  const auto objects = Render(c, Options());
  // Every empty section of each service's rendered config (the renderer's
  // output before the Kubernetes split) is in what its pod loads.
  auto rendered = RenderServiceConfigs(
      c, StorageEndpoints{"host=db password=x", "redis://:x@cache:6379"}, "h");
  ASSERT_THAT(rendered, IsOk());
  size_t empty_sections = 0;
  for (const std::string svc : {"fiat", "front50", "clouddriver", "rosco",
                                "igor", "kayenta", "echo", "orca", "gate"}) {
    std::unique_ptr<google::protobuf::Message> local = NewServiceConfig(svc);
    ASSERT_THAT(config::MergeYaml(rendered->at(svc), svc, local.get()), IsOk());
    std::set<std::string> all, empty, got, got_empty;
    PresentSections(*local, "", &all, &empty);
    PresentSections(*PodConfig(objects, svc), "", &got, &got_empty);
    for (const std::string& section : empty) {
      EXPECT_TRUE(got.count(section)) << svc << ": " << section;
    }
    empty_sections += empty.size();
  }
  EXPECT_GT(empty_sections, 0u);  // echo's notifications.slack, ...
  // Where the whole config is in the Secret (secrets in lists: igor and
  // kayenta), the pod's config has exactly its sections.
  for (const std::string svc : {"igor", "kayenta"}) {
    auto secret = SecretData(Find(objects, "Secret", svc + "-secrets"));
    ASSERT_TRUE(secret.count(svc + ".yml")) << svc;
    std::unique_ptr<google::protobuf::Message> full = NewServiceConfig(svc);
    ASSERT_THAT(config::MergeYaml(secret[svc + ".yml"], svc, full.get()),
                IsOk());
    std::set<std::string> want, want_empty, got, got_empty;
    PresentSections(*full, "", &want, &want_empty);
    PresentSections(*PodConfig(objects, svc), "", &got, &got_empty);
    EXPECT_EQ(got, want) << svc;
    EXPECT_EQ(got_empty, want_empty) << svc;
  }
}

TEST(KubernetesManifestsTest, FilesOnThisMachineAreRefusedUnderKubernetes) {
  // Settings that name files or directories on the operator's machine: the
  // rendered configs would carry them into pods, where they do not exist.
  const std::string dir = testing::MakeTempDir("k8s-files");
  const std::string users = dir + "/users.yml";
  {
    std::ofstream out(users);
    out << "users: []\n";
  }
  v1::Halconfig c = KubernetesConfig();
  const std::vector<std::pair<std::string, std::string>> settings = {
      {"security.authn.usersFile", users},
      {"security.authz.rolesFile", users},
      {"security.authn.ldap.caCertFile", users},
      {"security.authz.ldap.caCertFile", users},
      {"bakery.packerConfigDir", dir},
      {"bakery.imageStoreDir", dir},
      {"bakery.packageRepositoryDir", dir},
      {"bakery.workDir", dir},
      {"bakery.packerBinary", "/usr/local/bin/packer"},
      {"ui.bundleDir", dir},
  };
  for (const auto& [key, value] : settings) {
    ASSERT_EQ(Set(&c, key, value), "") << key;
  }
  auto* account = c.mutable_providers()->mutable_local()->add_accounts();
  account->set_name("local");
  account->set_state_dir(dir);
  account->set_image_store_dir(dir);
  account->set_prometheus_file_sd_path(dir + "/sd.json");
  auto* git = c.mutable_ci()->add_git();
  git->set_source("github");
  git->set_project("p");
  git->set_slug("s");
  git->set_url("file://" + dir + "/repo.git");
  auto* git2 = c.mutable_ci()->add_git();
  *git2 = *git;
  git2->set_url(dir + "/repo.git");
  const std::string problems = Problems(c);
  std::vector<std::string> keys;
  for (const auto& [key, value] : settings) keys.push_back(key);
  for (const char* key : {"providers.local.accounts[0].stateDir",
                          "providers.local.accounts[0].imageStoreDir",
                          "providers.local.accounts[0].prometheusFileSdPath",
                          "ci.git[0].url", "ci.git[1].url"}) {
    keys.push_back(key);
  }
  for (const std::string& key : keys) {
    EXPECT_THAT(problems, HasSubstr(key + ": names a file on this machine; "
                                          "not shipped to pods yet: "))
        << key;
  }
  EXPECT_THAT(problems, HasSubstr("security.authn.usersFile: names a file on "
                                  "this machine; not shipped to pods yet: " +
                                  users + " (use security.authn.ldap"));
  // `deploy apply` renders nothing for it: the cluster is never touched.
  EXPECT_THAT(RenderKubernetesManifests(c, Options()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("not shipped to pods yet")));
  // A git URL the cluster reaches, a packer from PATH, and nothing else set:
  // fine.
  v1::Halconfig ok = KubernetesConfig();
  auto* remote = ok.mutable_ci()->add_git();
  *remote = *git;
  remote->set_url("https://github.com/p/s.git");
  ASSERT_EQ(Set(&ok, "bakery.packerBinary", "packer"), "");
  EXPECT_THAT(Problems(ok), Not(HasSubstr("not shipped to pods")));
  // The same files are fine for a LOCAL deployment.
  c.mutable_deployment_environment()->set_type(
      v1::DEPLOYMENT_ENVIRONMENT_TYPE_LOCAL);
  EXPECT_THAT(Problems(c), Not(HasSubstr("not shipped to pods")));
  testing::RemoveTree(dir);
}

// deploy/kubernetes/gennaker.yaml: what a fresh render of the default config
// gives, byte for byte.
constexpr char kReferenceHeader[] =
    "# Gennaker on Kubernetes: reference manifests.\n"
    "#\n"
    "# Rendered by halyard (RenderKubernetesManifests) from the default "
    "halconfig with\n"
    "# deploymentEnvironment.type KUBERNETES: in-cluster PostgreSQL and "
    "Redis, one replica\n"
    "# per service, image gennaker:<version>. The store passwords are "
    "placeholders\n"
    "# (change-me-postgres, change-me-redis, base64 in the Secrets), and so "
    "is the key\n"
    "# of the gennaker.io/config-hash annotations "
    "(placeholder-hash-salt-not-secret):\n"
    "# render your own deployment with halyard rather than applying these as "
    "they are.\n"
    "#\n"
    "# Checked in CI: halyard_kubernetes_test fails when a fresh render "
    "differs. Regenerate:\n"
    "#   GENNAKER_UPDATE_REFERENCE_MANIFESTS=1 "
    "build/services/halyard/halyard_kubernetes_test \\\n"
    "#     --gtest_filter='*ReferenceManifests*'\n";

TEST(KubernetesManifestsTest, ReferenceManifestsMatchAFreshRender) {
  const std::string fresh = absl::StrCat(
      kReferenceHeader, JoinManifests(Render(KubernetesConfig(), Options())));
  const std::string path = GENNAKER_REFERENCE_MANIFESTS;
  if (const char* update = std::getenv("GENNAKER_UPDATE_REFERENCE_MANIFESTS");
      update != nullptr && std::string(update) == "1") {
    std::ofstream out(path, std::ios::trunc);
    out << fresh;
    out.close();
    ASSERT_TRUE(out.good()) << "cannot write " << path;
  }
  const std::string kept = ReadFile(path);
  EXPECT_EQ(kept, fresh)
      << path
      << " differs from a fresh render of the default config: if the change "
         "is intended, regenerate it with\n  "
         "GENNAKER_UPDATE_REFERENCE_MANIFESTS=1 "
         "build/services/halyard/halyard_kubernetes_test "
         "--gtest_filter='*ReferenceManifests*'\nand commit the result.";
}

}  // namespace
}  // namespace gennaker::halyard
