// Builds window.spinnakerSettings, the settings object Deck reads once at import time
// (@spinnaker/core's SETTINGS), so app.ts imports this module before @spinnaker/core.
//
// Defaults describe what Gennaker's suite offers (one `local` cloud provider, the trigger and
// notification types echo implements); gate's generated /settings.js sets
// window.gennakerSettings from the halconfig and its fields win:
//   { gateUrl, authEnabled, fiatEnabled, canaryEnabled, deploymentName }
// The key names are Deck's (see ISpinnakerSettings in @spinnaker/core); the values are ours.

interface GennakerSettings {
  gateUrl?: string;
  authEnabled?: boolean;
  fiatEnabled?: boolean;
  canaryEnabled?: boolean;
  deploymentName?: string;
}

const w = window as any;
const overlay: GennakerSettings = w.gennakerSettings || {};

// Without settings.js (bundle served by hand) assume gate on its default port, same host.
const gateUrl = (overlay.gateUrl || `${location.protocol}//${location.hostname}:8084`).replace(/\/+$/, '');
const authEnabled = overlay.authEnabled === true;
const fiatEnabled = overlay.fiatEnabled === true;
const canaryEnabled = overlay.canaryEnabled === true;

w.spinnakerSettings = {
  analytics: {},
  authEnabled,
  authEndpoint: `${gateUrl}/auth/user`,
  authTtl: 600000,
  bakeryDetailUrl: `${gateUrl}/bakery/logs/{{context.region}}/{{context.status.resourceId}}`,
  banners: [],
  canary: {
    defaultJudge: 'NetflixACAJudge-v1.0',
    featureDisabled: !canaryEnabled,
    metricsAccountName: 'prometheus',
    metricStore: 'prometheus',
    // Kayenta's screens are opt-in per application otherwise; the suite has one canary store.
    optInAll: canaryEnabled,
    reduxLogger: false,
    showAllConfigs: true,
    stagesEnabled: canaryEnabled,
    storageAccountName: '',
    templatesEnabled: true,
  },
  // Deck polls /version.json for a newer build; a suite's UI changes only on redeploy.
  checkForUpdates: false,
  debugEnabled: false,
  defaultInstancePort: 80,
  defaultProviders: ['local'],
  defaultTimeZone: 'America/Los_Angeles',
  deploymentName: overlay.deploymentName || 'gennaker',
  disabledImages: [],
  entityTags: { maxResults: 5000 },
  feature: {
    canary: canaryEnabled,
    chaosMonkey: false,
    ci: false,
    displayTimestampsInUserLocalTime: false,
    dryRunEnabled: false,
    entityTags: false,
    executionMarkerInformationModal: false,
    fiatEnabled,
    functions: false,
    html5Routing: false,
    iapRefresherEnabled: false,
    kubernetesRawResources: false,
    managedDelivery: false,
    managedResources: false,
    managedServiceAccounts: false,
    mdGitIntegration: false,
    notifications: true,
    pagerDuty: false,
    pipelineTemplates: true,
    pipelines: true,
    quietPeriod: false,
    roscoMode: true,
    slack: false,
    snapshots: false,
  },
  gateUrl,
  gitSources: ['github', 'gitlab', 'bitbucket', 'stash'],
  hiddenStages: [],
  maxPipelineAgeDays: 14,
  newApplicationDefaults: { chaosMonkey: false },
  // echo sends these (README "Notifications"); Deck hides the disabled ones.
  notifications: {
    bearychat: { enabled: false },
    cdevents: { enabled: false },
    email: { enabled: true },
    githubStatus: { enabled: false },
    googlechat: { enabled: false },
    microsoftteams: { enabled: false },
    pubsub: { enabled: false },
    slack: { botName: 'spinnakerbot', enabled: true },
    sms: { enabled: true },
  },
  onDemandClusterThreshold: 350,
  pagerDuty: { required: false },
  plugins: [],
  pollSchedule: 30000,
  providers: {
    local: { defaults: { account: 'local', region: 'localhost' } },
  },
  pubsubProviders: [],
  searchVersion: 1,
  // The trigger types echo matches (README "Triggers, CI and notifications").
  triggerTypes: ['cron', 'docker', 'git', 'jenkins', 'pipeline', 'travis', 'webhook'],
  useClassicFirewallLabels: false,
};
