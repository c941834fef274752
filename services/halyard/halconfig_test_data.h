// Test-only sample halconfig shared by halconfig_test.cc and render_test.cc.
//
// Contract: kSampleCiHalconfigYaml is a complete, valid halconfig YAML with the
// ci (jenkins, travis, docker registries, git) and notifications (slack, email,
// twilio, webhook) sections filled in as an operator writes them, plus
// triggers.gitSharedSecret. Tests assert on its exact values, so change them
// only together with those tests.
#ifndef GENNAKER_SERVICES_HALYARD_HALCONFIG_TEST_DATA_H_
#define GENNAKER_SERVICES_HALYARD_HALCONFIG_TEST_DATA_H_

namespace gennaker::halyard {

// The CI and notification sections as an operator writes them.
inline constexpr char kSampleCiHalconfigYaml[] = R"(
timezone: Europe/Paris
ci:
  allowLoopback: true
  polling:
    intervalSeconds: 30
  jenkins:
    - name: jenkins-main
      address: http://127.0.0.1:8180/
      username: spinnaker
      password: jenkins-api-token
      csrf: true
  travis:
    - name: oss
      address: https://api.travis-ci.com/
      baseUrl: https://app.travis-ci.com/
      token: travis-token
      repositories: [acme/api]
  dockerRegistries:
    - name: local-registry
      address: http://127.0.0.1:5000
      username: robot
      password: registry-password
      repositories: [acme/api, library/nginx]
      trackDigests: true
  git:
    - source: github
      project: acme
      slug: api
      url: https://ghp_token@github.com/acme/api.git
      branches: [main]
notifications:
  spinnakerBaseUrl: http://localhost:9000
  allowLoopback: true
  slack:
    enabled: true
    token: xoxb-slack-token
    botName: spinnakerbot
  email:
    enabled: true
    from: spinnaker@example.com
    smtpHost: 127.0.0.1
    smtpPort: 2525
    username: mailer
    password: smtp-password
    starttls: true
  twilio:
    enabled: true
    account: AC123
    token: twilio-token
    from: "+15550100"
  webhook:
    enabled: true
triggers:
  gitSharedSecret: git-shared-secret
)";

}  // namespace gennaker::halyard

#endif  // GENNAKER_SERVICES_HALYARD_HALCONFIG_TEST_DATA_H_
