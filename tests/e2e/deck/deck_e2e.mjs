// Deck end to end in a real browser, run by tests/e2e/deck_e2e_test.cc against
// a suite it started (gate serving the Deck bundle on its UI listener).
//
// Drives Debian's chromium with playwright-core (from ui/deck/node_modules):
//   - actions through Deck's own forms: create the application, create a load
//     balancer (the local provider's dialog), build and save the red/black
//     pipeline (deploy v1 -> manual judgment -> deploy v2) with the local
//     deploy form, start it with "Start Manual Execution", approve the judgment
//     with Deck's button, then see v2 serving and v1 disabled in the clusters;
//   - every page (applications, executions, execution details, pipeline
//     config, clusters, load balancers, firewalls, tasks, application config,
//     search, projects, pipeline templates, and Deck's canary screens from
//     @spinnaker/kayenta: canary configs with a config seeded through gate,
//     canary reports and the report of a canary run started through gate):
//     it renders its content, without Deck's error page, console errors or
//     failed requests.
// One line per step with its time; a screenshot per step in SCREENSHOT_DIR.
// Exit code 0 only when every step passed.
//
// Environment: DECK_URL, GATE_URL, DECK_APP, DECK_CANARY_CONFIG, SCREENSHOT_DIR,
// DECK_NODE_MODULES, CHROMIUM, DEMO_BIN (gennaker-demo), LB_PORT,
// BROWSER_PROFILE_DIR.
import { mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const env = (name) => {
  const v = process.env[name];
  if (!v) {
    console.error(`deck_e2e: ${name} is not set`);
    process.exit(2);
  }
  return v;
};
const DECK = env('DECK_URL').replace(/\/$/, '');
const GATE = env('GATE_URL').replace(/\/$/, '');
const APP = env('DECK_APP');
const SHOTS = env('SCREENSHOT_DIR');
const NODE_MODULES = env('DECK_NODE_MODULES');
const CHROMIUM = env('CHROMIUM');
const DEMO_BIN = env('DEMO_BIN');
const LB_PORT = Number(env('LB_PORT'));
const PROFILE = env('BROWSER_PROFILE_DIR');
const CANARY_CONFIG = env('DECK_CANARY_CONFIG');
const STACK = 'web';
const CLUSTER = `${APP}-${STACK}`;
const PIPELINE = 'deploy';
const FIREWALL = `${APP}-office`;
const PROJECT = `${APP}proj`;

// playwright-core is a devDependency of the UI (ui/deck/package.json).
const require = createRequire(path.join(path.dirname(NODE_MODULES), 'package.json'));
const { chromium } = require('playwright-core');

// The local provider's form fields: the data-test hooks listed at the top of
// ui/deck/src/local/index.ts.
const LOCAL = {
  modal: '[data-test="local-modal"]',
  submit: '[data-test="local-submit"]',
  taskStatus: '[data-test="local-task-status"]',
  lbPort: '[data-test="local-lb-port"]',
  fwName: '[data-test="local-fw-name"]',
  fwRules: '[data-test="local-fw-rules"]',
  stack: '[data-test="local-stack"]',
  command: '[data-test="local-command"]',
  env: '[data-test="local-env"]',
  healthPath: '[data-test="local-health-path"]',
  healthInterval: '[data-test="local-health-interval"]',
  min: '[data-test="local-capacity-min"]',
  max: '[data-test="local-capacity-max"]',
  desired: '[data-test="local-capacity-desired"]',
  loadBalancers: '[data-test="local-load-balancers"]',
  strategy: '[data-test="local-strategy"]',
  scaleDown: '[data-test="local-scale-down"]',
  rollbackOnFailure: '[data-test="local-rollback-on-failure"]',
};

// Requests allowed to fail, each with the reason. Everything else that fails
// (transport error or status >= 400) fails the step it happened in.
const ALLOWED_FAILURES = [
  {
    // Deck cancels its own in-flight XHRs (polls, superseded searches) when a
    // page is left; the browser reports them as aborted, the server never
    // answered with an error.
    failure: /net::ERR_ABORTED/,
    reason: 'request cancelled by Deck or by leaving the page',
  },
];

// Texts of Deck's error screens (error boundary, application and dialog
// failures).
const ERROR_TEXTS = [
  'Oh dear, something has gone wrong',
  'Spinnaker has encountered an unexpected UI error',
  'Application Not Found',
  'There was a problem loading',
  'Error initializing dialog',
  'Error fetching applications',
  'There was an error fetching',
  'Could not save pipeline',
  'Could not create application',
  'There was an error recording your decision',
];

const started = Date.now();
const results = []; // {name, ok, ms, detail}
let problems = []; // what went wrong in the browser during the current step
let allowedSeen = 0;

const secs = (ms) => (ms / 1000).toFixed(1) + 's';
const log = (line) => console.log(`[deck-e2e ${secs(Date.now() - started).padStart(6)}] ${line}`);

function allowed(url, status, failure) {
  return ALLOWED_FAILURES.some(
    (a) =>
      (!a.url || a.url.test(url)) &&
      (!a.status || a.status === status) &&
      (!a.failure || (failure && a.failure.test(failure))),
  );
}

// REST calls to gate from the test itself: only to wait for asynchronous
// work and to seed data no Deck page under test creates.
async function gate(method, p, body) {
  const r = await fetch(GATE + p, {
    method,
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  if (r.status >= 400) throw new Error(`${method} ${p}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function waitFor(what, fn, timeoutMs = 60000, everyMs = 250) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} (last: ${last?.message ?? last})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

let page;
let shot = 0;

async function screenshot(name) {
  const file = path.join(SHOTS, `${String(++shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

async function assertNoErrorPage() {
  const text = await page.locator('body').innerText();
  for (const t of ERROR_TEXTS) {
    if (text.includes(t)) {
      const at = text.indexOf(t);
      throw new Error(`Deck shows an error: ${text.slice(at, at + 300).replace(/\s+/g, ' ')}`);
    }
  }
}

// Runs one step: its browser problems and exceptions fail it. Later steps
// still run (they fail fast when what they need is missing).
async function step(name, fn) {
  const t0 = Date.now();
  problems = [];
  let error;
  let file;
  try {
    await fn();
    // Late console errors and responses of the step's last requests.
    await page.waitForTimeout(300);
    await assertNoErrorPage();
  } catch (e) {
    error = e;
  }
  try {
    file = await screenshot(name.replace(/[^a-z0-9]+/gi, '-').toLowerCase());
  } catch (e) {
    problems.push(`screenshot failed: ${e.message}`);
  }
  const ms = Date.now() - t0;
  const issues = [...(error ? [error.message] : []), ...problems];
  results.push({ name, ok: issues.length === 0, ms, file });
  // The steps after one that could not finish mostly need what it should
  // have made: let them fail fast so that a broken run stays short.
  if (error) page.setDefaultTimeout(4000);
  if (issues.length) {
    // Leave whatever dialog the failure left open: the next step starts
    // from a fresh load of Deck.
    await page.goto('about:blank').catch(() => {});
  }
  if (issues.length === 0) {
    log(`ok   ${name} (${secs(ms)}) ${file ? path.basename(file) : ''}`);
  } else {
    log(`FAIL ${name} (${secs(ms)}) ${file ? path.basename(file) : ''}`);
    for (const i of issues) console.log(`       - ${i.split('\n').join('\n         ')}`);
  }
  return issues.length === 0;
}

async function go(route) {
  await page.goto(`${DECK}/#${route}`);
}

// Picks `label` in an angular ui-select (Deck's stage type picker): opens it,
// types into its search box (focused once open) and clicks the choice whose
// heading is exactly `label`.
async function uiSelect(container, label) {
  await container.locator('.ui-select-match, .select2-choice').first().click();
  await page.keyboard.type(label);
  const heading = page.locator('.ui-select-choices-row strong').filter({ hasText: new RegExp(`^\\s*${label}\\s*$`) });
  await heading.first().click();
}

// Fills a form control whatever its kind (input, textarea, select).
async function setField(selector, value, scope = page) {
  const el = scope.locator(selector).first();
  await el.waitFor({ state: 'visible', timeout: 10000 });
  const tag = await el.evaluate((e) => e.tagName.toLowerCase());
  if (tag === 'select') {
    await el.selectOption(value);
  } else {
    await el.fill(String(value));
  }
}

async function main() {
  rmSync(PROFILE, { recursive: true, force: true });
  mkdirSync(PROFILE, { recursive: true });
  mkdirSync(SHOTS, { recursive: true });
  log(`Deck ${DECK}, gate ${GATE}, chromium ${CHROMIUM}`);
  const context = await chromium.launchPersistentContext(PROFILE, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    // Deck shows its longer button labels ("Start Manual Execution") only on
    // wide screens.
    viewport: { width: 1920, height: 1080 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(20000);
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()} (${m.location()?.url ?? ''})`);
  });
  page.on('pageerror', (e) => problems.push(`uncaught exception: ${e.message}`));
  page.on('requestfailed', (r) => {
    const failure = r.failure()?.errorText ?? 'failed';
    if (allowed(r.url(), 0, failure)) {
      allowedSeen++;
      return;
    }
    problems.push(`request failed: ${r.method()} ${r.url()}: ${failure}`);
  });
  page.on('response', async (r) => {
    if (r.status() < 400 || allowed(r.url(), r.status(), null)) return;
    let body = '';
    try {
      body = (await r.text()).slice(0, 300);
    } catch {}
    problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()} -> ${body}`);
  });

  let pipelineId;
  let executionId;
  let canaryConfigId;
  let canaryRunId;

  // --- Action: create the application through Deck's dialog.
  await step('action: create application', async () => {
    await go('/applications');
    await page.locator('.btn', { hasText: 'Create Application' }).click();
    const modal = page.locator('.modal-dialog');
    await modal.locator('[data-purpose="application-name"]').fill(APP);
    await modal.locator('[data-purpose="application-email"]').fill(`${APP}@example.com`);
    await modal.locator('[data-purpose="application-description"]').fill('Created by the Deck e2e test');
    await modal.locator('button.btn-primary', { hasText: 'Create' }).click();
    // Deck waits for the task, closes the dialog and opens the application.
    await modal.waitFor({ state: 'detached', timeout: 30000 });
    await page.waitForURL(new RegExp(`#/applications/${APP}`), { timeout: 15000 });
  });

  await step('page: applications', async () => {
    // Deck caches the application list of its first visit: reload, as a
    // user would, to see the new application.
    await go('/applications');
    await page.reload();
    await page.locator('table.table tbody tr a', { hasText: new RegExp(`^${APP}$`) }).waitFor();
  });

  // Seed a project (for the projects page) through gate as spin would: no
  // action under test creates one.
  await step('seed a project through gate', async () => {
    const job = {
      type: 'upsertProject',
      project: { name: PROJECT, email: `${APP}@example.com`, config: { applications: [APP], clusters: [] } },
    };
    const { ref } = await gate('POST', '/tasks', { application: APP, description: `Create Project: ${PROJECT}`, job: [job] });
    const id = ref.split('/').pop();
    const status = await waitFor('the project task', async () => {
      const t = await gate('GET', `/tasks/${id}`);
      return ['RUNNING', 'NOT_STARTED'].includes(t.status) ? null : t.status;
    });
    if (status !== 'SUCCEEDED') throw new Error(`upsertProject: ${status}`);
  });

  // Seed a canary config and a canary run through gate as spin would
  // (kayenta's own formats, as in README's kayenta section): the canary pages
  // below show them. The queries fall back to 0 without series, so the run
  // judges real (empty) Prometheus answers for any scope.
  await step('seed a canary config and run through gate', async () => {
    const metric = (name, group, promql) => ({
      name,
      scopeName: 'default',
      groups: [group],
      query: { type: 'prometheus', customInlineTemplate: `PromQL:${promql}` },
      analysisConfigurations: {
        canary: { direction: 'increase', critical: false, nanStrategy: 'replace', effectSize: { allowedIncrease: 1 } },
      },
    });
    const created = await gate('POST', '/v2/canaryConfig', {
      name: CANARY_CONFIG,
      description: 'Seeded by the Deck e2e test',
      applications: [APP],
      judge: { name: 'NetflixACAJudge-v1.0' },
      metrics: [
        metric(
          'error rate',
          'errors',
          'sum(rate(gennaker_requests_total{server_group="${scope}",code=~"5.."}[10s])) or vector(0)',
        ),
        metric(
          'p90 latency',
          'latency',
          'histogram_quantile(0.9, sum by (le) ' +
            '(rate(gennaker_request_duration_seconds_bucket{server_group="${scope}"}[10s]))) or vector(0)',
        ),
      ],
      classifier: { groupWeights: { errors: 50, latency: 50 } },
      templates: {},
    });
    canaryConfigId = created?.canaryConfigId;
    if (!canaryConfigId) throw new Error(`no canaryConfigId in ${JSON.stringify(created)}`);
    log(`       canary config ${canaryConfigId}`);
    // The last minute, v000 as baseline and v001 as canary (the names the
    // pipeline below deploys); it finishes while the other steps run.
    const end = new Date(Math.floor(Date.now() / 1000) * 1000);
    const start = new Date(end.getTime() - 60000);
    const scope = (name) => ({
      scope: name,
      location: 'localhost',
      start: start.toISOString(),
      end: end.toISOString(),
      step: 10,
    });
    const run = await gate(
      'POST',
      `/v2/canaries/canary/${canaryConfigId}?application=${APP}&metricsAccountName=prometheus`,
      {
        scopes: { default: { controlScope: scope(`${CLUSTER}-v000`), experimentScope: scope(`${CLUSTER}-v001`) } },
        thresholds: { pass: 75, marginal: 50 },
      },
    );
    canaryRunId = run?.canaryExecutionId;
    if (!canaryRunId) throw new Error(`no canaryExecutionId in ${JSON.stringify(run)}`);
    log(`       canary run ${canaryRunId}`);
  });

  // --- Actions: a load balancer and a firewall with the local provider's
  // dialogs (Deck's task monitor follows the task; its Close ends it).
  const submitTask = async (modal) => {
    await modal.locator(LOCAL.submit).click();
    const status = modal.locator(LOCAL.taskStatus);
    const end = await waitFor('the task to finish', async () => {
      const s = (await status.textContent())?.trim();
      return s === 'SUCCEEDED' || s === 'FAILED' ? s : null;
    });
    if (end !== 'SUCCEEDED') throw new Error(`task ${end}: ${(await modal.innerText()).replace(/\s+/g, ' ')}`);
    await page.locator('.modal-dialog').getByRole('button', { name: 'Close' }).click();
    await modal.waitFor({ state: 'detached' });
  };

  await step('action: create load balancer', async () => {
    await go(`/applications/${APP}/loadBalancers`);
    await page.locator('.btn', { hasText: 'Create Load Balancer' }).click();
    const modal = page.locator(LOCAL.modal);
    await setField(LOCAL.lbPort, LB_PORT, modal);
    await submitTask(modal);
    // Deck lists it.
    await page.locator('.load-balancer-pod', { hasText: APP }).first().waitFor();
  });

  await step('action: create firewall', async () => {
    await go(`/applications/${APP}/firewalls`);
    await page.locator('.btn', { hasText: 'Create Firewall' }).click();
    const modal = page.locator(LOCAL.modal);
    await setField(LOCAL.fwName, FIREWALL, modal);
    await setField(LOCAL.fwRules, '10.0.0.0/8 8100\n127.0.0.1/32 8000-8999', modal);
    await submitTask(modal);
    await page.getByText(FIREWALL).first().waitFor();
  });

  // --- Action: the red/black pipeline, through Deck's pipeline editor and
  // the local deploy form.
  const deployStage = async (name, version) => {
    await page.locator('button.add-new', { hasText: 'Add stage' }).click();
    await uiSelect(page.locator('.pipeline-stage-config-heading .ui-select-container').first(), 'Deploy');
    await page.locator('stage-config-field[label="Stage Name"] input').fill(name);
    await page.locator('button.add-new', { hasText: 'Add server group' }).click();
    const modal = page.locator(LOCAL.modal);
    await setField(LOCAL.stack, STACK, modal);
    await setField(LOCAL.command, [DEMO_BIN, '--port', '{{port}}', '--version', version].join('\n'), modal);
    await setField(LOCAL.env, `DEPLOYED_BY=deck-e2e`, modal);
    await setField(LOCAL.healthPath, '/health', modal);
    await setField(LOCAL.healthInterval, 250, modal);
    await setField(LOCAL.max, 2, modal);
    await setField(LOCAL.desired, 2, modal);
    await setField(LOCAL.min, 2, modal);
    await modal.locator(LOCAL.loadBalancers).selectOption([APP]);
    await setField(LOCAL.strategy, 'redblack', modal);
    await modal.locator(LOCAL.scaleDown).check();
    await modal.locator(LOCAL.rollbackOnFailure).check();
    await modal.locator(LOCAL.submit).click();
    await modal.waitFor({ state: 'detached' });
    // The stage lists the new cluster.
    await page.locator('.stage-details').getByText(CLUSTER).first().waitFor();
  };

  await step('action: build and save the red/black pipeline', async () => {
    await go(`/applications/${APP}/executions`);
    await page.getByText('Configure a new pipeline').click();
    const modal = page.locator('.modal-dialog');
    await modal.locator('input.form-control[type="text"]').first().fill(PIPELINE);
    await modal.locator('button.btn-primary', { hasText: 'Create' }).click();
    await page.waitForURL(/\/executions\/configure\/[^/?]+/, { timeout: 15000 });
    pipelineId = decodeURIComponent(page.url().match(/\/configure\/([^/?]+)/)[1]);
    await deployStage('Deploy v1', 'v1');
    await page.locator('button.add-new', { hasText: 'Add stage' }).click();
    await uiSelect(page.locator('.pipeline-stage-config-heading .ui-select-container').first(), 'Manual Judgment');
    await page.locator('stage-config-field[label="Stage Name"] input').fill('Approve');
    await page
      .locator('stage-config-field[label="Instructions"] textarea')
      .fill('Ship v2? v1 stays enabled until you continue.');
    await deployStage('Deploy v2', 'v2');
    await page.getByRole('button', { name: 'Save Changes' }).click();
    await page.getByText('In sync with server').waitFor({ timeout: 15000 });
    const saved = await gate('GET', `/applications/${APP}/pipelineConfigs/${PIPELINE}`);
    const types = saved.stages.map((s) => s.type).join(',');
    if (types !== 'deploy,manualJudgment,deploy') throw new Error(`saved stages: ${types}`);
    log(`       pipeline ${pipelineId}: ${saved.stages.map((s) => `${s.name} <- [${s.requisiteStageRefIds}]`).join(', ')}`);
  });

  // --- Action: run it with "Start Manual Execution".
  await step('action: start manual execution', async () => {
    if (!pipelineId) throw new Error('no pipeline (the pipeline step failed)');
    await go(`/applications/${APP}/executions`);
    const heading = page.locator('.execution-group-heading', { hasText: PIPELINE });
    const started = page.waitForResponse(
      (r) => r.request().method() === 'POST' && /\/pipelines\/(v2\/)?[^/]+\/[^/]+$/.test(new URL(r.url()).pathname),
    );
    started.catch(() => {}); // awaited below, after the clicks
    await heading.getByText('Start Manual Execution').click();
    const modal = page.locator('.modal-dialog', { hasText: 'Select Execution Parameters' });
    await modal.locator('button[type="submit"]', { hasText: /^\s*Run\s*$/ }).click();
    const resp = await started;
    const body = await resp.json();
    executionId = (body.ref ?? '').split('/').pop();
    if (!executionId) throw new Error(`no execution ref in ${JSON.stringify(body)}`);
    await modal.waitFor({ state: 'detached' });
    log(`       execution ${executionId}`);
    // Deploy v1 runs, then the judgment waits.
    await waitFor(
      'the manual judgment to wait',
      async () => {
        const e = await gate('GET', `/pipelines/${executionId}`);
        if (!['RUNNING', 'NOT_STARTED', 'PAUSED'].includes(e.status)) throw new Error(`execution ${e.status}`);
        return e.stages.some((s) => s.type === 'manualJudgment' && s.status === 'RUNNING');
      },
      90000,
    );
  });

  await step('page: executions', async () => {
    await go(`/applications/${APP}/executions`);
    await page.locator('.execution-group-title', { hasText: PIPELINE }).waitFor();
    // The running execution, with its stage markers.
    await page.locator('.execution-marker').first().waitFor();
  });

  // --- Action: approve the judgment with Deck's button.
  await step('action: approve manual judgment', async () => {
    if (!executionId) throw new Error('no execution (the start step failed)');
    await go(`/applications/${APP}/executions/details/${executionId}?refId=2`);
    const approval = page.locator('.action-buttons');
    const shown = await approval
      .waitFor({ timeout: 8000 })
      .then(() => true)
      .catch(() => false);
    if (!shown) {
      // Deck did not open the judgment from the link: click its running stage.
      await page.locator('.execution-marker.stage-type-manualjudgment').first().click();
      await approval.waitFor();
    }
    await screenshot('judgment-waiting');
    await approval.getByRole('button', { name: 'Continue' }).click();
    const e = await waitFor(
      'the execution to finish',
      async () => {
        const x = await gate('GET', `/pipelines/${executionId}`);
        return ['RUNNING', 'NOT_STARTED', 'PAUSED'].includes(x.status) ? null : x;
      },
      120000,
      500,
    );
    if (e.status !== 'SUCCEEDED') throw new Error(`execution ${e.status}`);
  });

  await step('page: execution details', async () => {
    if (!executionId) throw new Error('no execution');
    await go(`/applications/${APP}/executions/details/${executionId}`);
    // The succeeded execution, its three stages, and the first one's details
    // naming the server group it deployed.
    await page.getByText('Status: SUCCEEDED').first().waitFor();
    for (const name of ['Deploy v1', 'Approve', 'Deploy v2']) {
      await page.getByText(name, { exact: true }).first().waitFor();
    }
    await page.getByText(`${CLUSTER}-v000`).first().waitFor();
  });

  // --- Action/check: v2 serving and v1 disabled, in the clusters view.
  await step('page: clusters (v2 serving, v1 disabled)', async () => {
    await go(`/applications/${APP}/clusters`);
    const id = (name) => `#serverGroup-local-localhost-${name}`.replace(/[^#\w]/g, '-');
    const v1 = page.locator(id(`${CLUSTER}-v000`));
    const v2 = page.locator(id(`${CLUSTER}-v001`));
    await v2.waitFor();
    await waitFor('v1 disabled and v2 enabled with its instances up', async () => {
      const v1Disabled = await v1.evaluate((e) => e.classList.contains('disabled'));
      const v2Disabled = await v2.evaluate((e) => e.classList.contains('disabled'));
      const up = await v2.locator('.health-status-Up').count();
      const notUp = await v2.locator('.instance:not(.health-status-Up)').count();
      return v1Disabled && !v2Disabled && up === 2 && notUp === 0;
    });
    // And the load balancer really answers with v2.
    const answer = await (await fetch(`http://127.0.0.1:${LB_PORT}/`)).json();
    if (answer.version !== 'v2') throw new Error(`load balancer answers ${JSON.stringify(answer)}`);
    log(`       load balancer :${LB_PORT} answers ${JSON.stringify(answer)}`);
  });

  await step('page: pipeline config', async () => {
    if (!pipelineId) throw new Error('no pipeline');
    await go(`/applications/${APP}/executions/configure/${pipelineId}`);
    for (const name of ['Deploy v1', 'Approve', 'Deploy v2']) {
      await page.locator('.pipeline-graph-container').getByText(name).first().waitFor();
    }
    await page.getByText('In sync with server').waitFor();
  });

  await step('page: load balancers', async () => {
    await go(`/applications/${APP}/loadBalancers`);
    // The load balancer with the server group behind it.
    await page.locator('.load-balancer-pod', { hasText: APP }).getByText(`${CLUSTER}-v001`).first().waitFor();
  });

  await step('page: firewalls', async () => {
    await go(`/applications/${APP}/firewalls`);
    await page.getByText(FIREWALL).first().waitFor();
  });

  await step('page: tasks', async () => {
    await go(`/applications/${APP}/tasks`);
    await page.getByText(/Create Load Balancer/).first().waitFor();
  });

  await step('page: application config', async () => {
    await go(`/applications/${APP}/config`);
    await page.getByText(`${APP}@example.com`).first().waitFor();
  });

  await step('page: search', async () => {
    await go(`/search?q=${APP}`);
    await page.getByText(CLUSTER).first().waitFor();
  });

  await step('page: projects', async () => {
    await go('/projects');
    await page.locator('table tbody', { hasText: PROJECT }).waitFor();
  });

  await step('page: pipeline templates', async () => {
    await go('/pipeline-templates');
    await page.locator('.search-label', { hasText: 'Pipeline Templates' }).waitFor();
  });

  // --- Deck's canary screens (@spinnaker/kayenta; gate's ui.canaryEnabled).
  await step('page: canary configs', async () => {
    if (!canaryConfigId) throw new Error('no canary config (the seed step failed)');
    await go(`/applications/${APP}/canary/config/${canaryConfigId}`);
    // The application's config list names it, selected, and the editor
    // holds it: its name and its metrics.
    await page.locator('.config-list li.selected', { hasText: CANARY_CONFIG }).waitFor();
    await waitFor('the editor to hold the config', async () =>
      (await page.locator('input[type="text"]').evaluateAll((els) => els.map((e) => e.value))).includes(
        CANARY_CONFIG,
      ),
    );
    for (const metric of ['error rate', 'p90 latency']) {
      await page.getByText(metric, { exact: true }).first().waitFor();
    }
  });

  await step('page: canary reports', async () => {
    if (!canaryRunId) throw new Error('no canary run (the seed step failed)');
    const run = await waitFor('the canary run to finish', async () => {
      const r = await gate('GET', `/v2/canaries/canary/${canaryRunId}`);
      return r.complete ? r : null;
    });
    const score = run.result?.judgeResult?.score?.score;
    log(`       canary run ${run.status}, score ${score}`);
    if (run.status !== 'succeeded') throw new Error(`canary run ${run.status}: ${JSON.stringify(run).slice(0, 300)}`);
    await go(`/applications/${APP}/canary/report`);
    // The list's header and the run's row: its config, location, scopes and
    // score, linking to its report (Deck shows a spinner until the
    // executions have loaded).
    await page.getByText('most recent reports').waitFor();
    const row = page.locator('table.execution-list-table tbody tr', { hasText: CANARY_CONFIG });
    await row.waitFor();
    await row.locator(`a[href$="/canary/report/${canaryConfigId}/${canaryRunId}"]`).waitFor();
    for (const text of [`${CLUSTER}-v000`, `${CLUSTER}-v001`, 'localhost', String(Math.round(score * 100) / 100)]) {
      await row.getByText(text, { exact: true }).first().waitFor();
    }
  });

  await step('page: canary report', async () => {
    if (!canaryRunId) throw new Error('no canary run');
    await go(`/applications/${APP}/canary/report/${canaryConfigId}/${canaryRunId}`);
    // The run's report: its config, each metric's result, and the first
    // metric's graph drawn from the run's metric set pairs.
    await page.getByText(CANARY_CONFIG).first().waitFor();
    for (const metric of ['error rate', 'p90 latency']) {
      await page.getByText(metric, { exact: true }).first().waitFor();
    }
    await page.getByText('Canary Value Differences from Baseline').waitFor();
  });

  await context.close();
}

// A whole-run deadline well inside ctest's TIMEOUT (600 s): ctest's kill would skip the C++
// test's TearDown and leave the suite's processes behind; exiting here closes Chromium
// (Playwright kills the browser it launched when node exits) and lets the test clean up.
const kDeadlineMs = 420000;
setTimeout(() => {
  console.log(`deck_e2e: deadline: still running after ${secs(kDeadlineMs)}, giving up`);
  process.exit(1);
}, kDeadlineMs).unref();

try {
  await main();
} catch (e) {
  console.log(`deck_e2e: aborted: ${e.stack ?? e}`);
  results.push({ name: 'run', ok: false, ms: 0 });
}
const failed = results.filter((r) => !r.ok);
console.log('');
console.log('| step | result | time |');
console.log('|---|---|---|');
for (const r of results) console.log(`| ${r.name} | ${r.ok ? 'ok' : 'FAILED'} | ${secs(r.ms)} |`);
console.log(
  `\n${results.length - failed.length}/${results.length} steps passed in ${secs(Date.now() - started)}` +
    ` (${allowedSeen} aborted request(s) ignored); screenshots in ${SHOTS}`,
);
process.exit(failed.length === 0 ? 0 : 1);
