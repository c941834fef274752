// Validates Kubernetes manifests against the Kubernetes API schemas (the OpenAPI schemas that
// kubernetes-models compiles into ajv validate functions), strictly: wrong types, missing
// required fields, bad enum values AND unknown fields (a typo such as `replica:`) are errors.
//
//   node validate.mjs FILE...
//
// Besides the schema: every object needs metadata.name, only GA apiVersions are accepted, and
// apps/v1 workloads get the API server's selector rules (see workloadChecks). YAML is read as
// kubectl reads it (YAML 1.1: unquoted yes/on are booleans, 0644 is octal).
//
// Each FILE is a multi-document YAML file. One line per object:
//   ok Deployment/gennaker/orca
//   error FILE:LINE document N Deployment/gennaker/orca: /spec/replica: unknown field "replica"
// then a summary. Exit status: 0 every object is valid; 1 any object is invalid, of an unknown
// or non-GA apiVersion/kind, or a file does not parse or holds no object; 2 usage or I/O error.
//
// Why strict unknown-field checking is done here: kubernetes-models' schemas do not forbid
// additional properties (the Kubernetes OpenAPI schemas never set additionalProperties: false),
// so a misspelled field passes its validate function silently, and an API server drops it (or
// rejects it only with strict field validation). The validate function is run on a Proxy of the
// document that records which keys it reads: ajv's generated code reads every property a schema
// declares (to test it for undefined) and enumerates the keys of maps (labels, data), so an own
// key that was neither read nor enumerated is a field the schema does not know. Objects of
// free-form schemas (type: object with no properties, e.g. managedFields[].fieldsV1) are neither
// read nor enumerated and are left alone, as the API server does.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { isMap, LineCounter, parseAllDocuments } from 'yaml';

// The Kubernetes release whose OpenAPI schemas the pinned kubernetes-models was generated from
// (its CHANGELOG: 4.5.0 "Update schema version to v1.33.0"; 4.5.1 changed only a dependency).
// The check below fails when package-lock.json moves to another version, so that this line
// and README.md are updated with it.
const kSchemaPackageVersion = '4.5.1';
const kKubernetesVersion = '1.33.0';

const require = createRequire(import.meta.url);
const modelsVersion = require('kubernetes-models/package.json').version;
if (modelsVersion !== kSchemaPackageVersion) {
  console.error(
      `validate: kubernetes-models ${modelsVersion} is installed but this script knows the ` +
      `Kubernetes version of ${kSchemaPackageVersion} only: update kKubernetesVersion from ` +
      `its CHANGELOG, then kSchemaPackageVersion (and README.md)`);
  process.exit(2);
}

// YAML as kubectl reads it (sigs.k8s.io/yaml, i.e. go-yaml v2 = YAML 1.1): yes/no/on/off are
// booleans and 0644 is octal (420); but go-yaml v2 leaves timestamps and sexagesimal numbers
// (1:20) as strings when the target is untyped, so those YAML 1.1 tags are dropped.
const kYamlOptions = {
  version: '1.1',
  customTags: (tags) =>
      tags.filter((t) => t.tag !== 'tag:yaml.org,2002:timestamp' && t.format !== 'TIME'),
};

// --- Keys read by the validate function -------------------------------------------------

// Per plain object or array of the document: the keys the validator read, and whether it
// enumerated them (maps).
function Tracker() {
  const seen = new WeakMap();
  const track = (value) => {
    if (value === null || typeof value !== 'object') return value;
    let info = seen.get(value);
    if (!info) {
      info = {reads: new Set(), enumerated: false};
      info.proxy = new Proxy(value, {
        get(target, key, receiver) {
          if (typeof key === 'string') info.reads.add(key);
          return track(Reflect.get(target, key, receiver));
        },
        has(target, key) {
          if (typeof key === 'string') info.reads.add(key);
          return Reflect.has(target, key);
        },
        ownKeys(target) {
          info.enumerated = true;
          return Reflect.ownKeys(target);
        },
      });
      seen.set(value, info);
    }
    return info.proxy;
  };
  return {track, info: (value) => seen.get(value)};
}

// JSON pointer segment escaping (RFC 6901), as ajv's instancePath uses it.
const pointerSegment = (key) => String(key).replace(/~/g, '~0').replace(/\//g, '~1');

// Appends to `out` the unknown fields at and below `value` (at JSON pointer `pointer`) as
// {path, message} errors.
function unknownFields(value, pointer, info, out) {
  if (value === null || typeof value !== 'object') return out;
  if (Array.isArray(value)) {
    value.forEach((item, i) => unknownFields(item, `${pointer}/${i}`, info, out));
    return out;
  }
  const seen = info(value);
  // Not visited (below a field already reported, or a type error) or free-form: no judgment.
  if (!seen || (!seen.enumerated && seen.reads.size === 0)) return out;
  for (const key of Object.keys(value)) {
    const child = `${pointer}/${pointerSegment(key)}`;
    if (seen.enumerated || seen.reads.has(key)) {
      unknownFields(value[key], child, info, out);
    } else {
      out.push({path: child, message: `unknown field "${key}"`});
    }
  }
  return out;
}

// --- apiVersion/kind to model ------------------------------------------------------------

const kApiVersion = /^(?:[a-z0-9]([a-z0-9.-]*[a-z0-9])?\/)?v[0-9]+((alpha|beta)[0-9]+)?$/;
const kKind = /^[A-Z][A-Za-z0-9]*$/;
const models = new Map();

// The model class of apiVersion/kind, or {error}.
async function modelFor(apiVersion, kind) {
  if (typeof apiVersion !== 'string' || !kApiVersion.test(apiVersion)) {
    return {error: `apiVersion ${JSON.stringify(apiVersion)} is missing or malformed`};
  }
  if (typeof kind !== 'string' || !kKind.test(kind)) {
    return {error: `kind ${JSON.stringify(kind)} is missing or malformed`};
  }
  // Only GA API versions: kubernetes-models merges the schemas of removed beta APIs (e.g.
  // policy/v1beta1 PodDisruptionBudget, removed in Kubernetes 1.25) into its latest ones, and
  // clusters have not served new beta APIs by default since 1.24.
  if (/(alpha|beta)[0-9]+$/.test(apiVersion)) {
    return {error: `${apiVersion} ${kind}: only GA apiVersions are accepted (alpha and beta ` +
                   `APIs are removed or off by default)`};
  }
  const id = `${apiVersion}/${kind}`;
  if (!models.has(id)) {
    let model = null;
    try {
      const mod = await import(`kubernetes-models/${apiVersion}/${kind}`);
      model = mod[kind] ?? null;
    } catch (e) {
      if (e.code !== 'ERR_MODULE_NOT_FOUND' && e.code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw e;
    }
    // A kind is a model with its own apiVersion and kind (not e.g. v1/PodSpec).
    if (!model || model.apiVersion !== apiVersion || model.kind !== kind) model = null;
    models.set(id, model);
  }
  const model = models.get(id);
  return model ? {model} : {error: `unknown kind ${kind} in apiVersion ${apiVersion} ` +
                                    `(Kubernetes ${kKubernetesVersion} schemas)`};
}

// --- One object --------------------------------------------------------------------------

const valueAt = (root, pointer) =>
    pointer.split('/').slice(1).reduce(
        (v, seg) => (v == null ? undefined : v[seg.replace(/~1/g, '/').replace(/~0/g, '~')]),
        root);

function describeAjvError(err, root) {
  let message = err.message ?? err.keyword;
  if (err.keyword === 'enum' && err.params?.allowedValues) {
    message += `: ${err.params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  if (err.keyword !== 'required') {
    const got = valueAt(root, err.instancePath);
    if (got === null || typeof got !== 'object') message += ` (got ${JSON.stringify(got)})`;
  }
  return {path: err.instancePath, message};
}

// The errors of one parsed document (an empty list when it is valid).
async function validateObject(value) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return {errors: [{path: '', message: 'a document must be a mapping (a Kubernetes object)'}]};
  }
  const {model, error} = await modelFor(value.apiVersion, value.kind);
  if (error) return {errors: [{path: '', message: error}]};
  const errors = [];
  const tracker = Tracker();
  try {
    // Model.prototype.validate runs the kind's compiled schema on `this`.
    model.prototype.validate.call(tracker.track(value));
  } catch (e) {
    if (!Array.isArray(e.errors)) throw e;
    for (const err of e.errors) errors.push(describeAjvError(err, value));
  }
  unknownFields(value, '', tracker.info, errors);
  // kubectl apply needs a name (the schema allows generateName instead, for create only).
  const name = value.metadata?.name;
  if (typeof name !== 'string' || name === '') {
    errors.push({path: '/metadata/name', message: 'missing: every object needs a name'});
  }
  if (errors.length === 0) workloadChecks(value, errors);
  return {errors};
}

// Three rules of the API server's validation of apps/v1 workloads that the OpenAPI schema
// cannot express and a renderer easily breaks: a pod template with a spec, a non-empty selector,
// and a selector that selects the template's labels.
function workloadChecks(value, errors) {
  const kWorkloads = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'];
  if (value.apiVersion !== 'apps/v1' || !kWorkloads.includes(value.kind)) return;
  const spec = value.spec ?? {};
  if (!spec.template?.spec) {
    errors.push({path: '/spec/template/spec', message: 'missing: a pod template needs a spec'});
  }
  const selector = spec.selector ?? {};
  const matchLabels = selector.matchLabels ?? {};
  const expressions = selector.matchExpressions ?? [];
  if (Object.keys(matchLabels).length === 0 && expressions.length === 0) {
    errors.push({path: '/spec/selector', message: 'empty selector: it would select every pod'});
    return;
  }
  const labels = spec.template?.metadata?.labels ?? {};
  const matches = (e) => {
    const has = Object.hasOwn(labels, e.key);
    switch (e.operator) {
      case 'In': return has && (e.values ?? []).includes(labels[e.key]);
      case 'NotIn': return !has || !(e.values ?? []).includes(labels[e.key]);
      case 'Exists': return has;
      case 'DoesNotExist': return !has;
      default: return false;
    }
  };
  if (!Object.entries(matchLabels).every(([k, v]) => labels[k] === v) ||
      !expressions.every(matches)) {
    errors.push({
      path: '/spec/selector',
      message: 'does not match /spec/template/metadata/labels (the API server rejects it)',
    });
  }
}

// --- Files -------------------------------------------------------------------------------

function label(value) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return '(not an object)';
  }
  const kind = typeof value.kind === 'string' ? value.kind : '(no kind)';
  const md = value.metadata ?? {};
  const parts = [kind, md.namespace, md.name ?? '(no name)'];
  return parts.filter((s) => typeof s === 'string').join('/');
}

// The 1-based line of the YAML node at `pointer` (of its key, for a mapping's field), or of its
// nearest existing ancestor.
function lineOf(doc, lineCounter, pointer) {
  const segments =
      pointer.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  for (let n = segments.length; n >= 0; n--) {
    let node = n > 0 ? doc.getIn(segments.slice(0, n), true) : doc.contents;
    const parent = n > 0 ? doc.getIn(segments.slice(0, n - 1), true) : null;
    const pair = isMap(parent) ? parent.items.find((p) => p.key?.value === segments[n - 1]) : null;
    if (pair?.key?.range) node = pair.key;
    if (node?.range) return lineCounter.linePos(node.range[0]).line;
  }
  return 1;
}

async function validateFile(file, report) {
  let text;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    console.error(`validate: cannot read ${file}: ${e.message}`);
    process.exit(2);
  }
  // Paths as given below the working directory (e.g. deploy/kubernetes/gennaker.yaml).
  const relative = path.relative(process.cwd(), path.resolve(file));
  const shown = relative && !relative.startsWith('..') ? relative : path.resolve(file);
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, {...kYamlOptions, lineCounter});
  let objects = 0;
  for (const [i, doc] of (Array.isArray(docs) ? docs : [docs]).entries()) {
    const where = (line) => `${shown}:${line} document ${i + 1}`;
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const message = e.message.split('\n')[0].replace(/:$/, '');
        report.error(`error ${where(e.linePos?.[0]?.line ?? 1)}: YAML: ${message}`);
      }
      continue;
    }
    const value = doc.toJS({maxAliasCount: 100});
    if (value === null || value === undefined) continue;  // an empty document (e.g. after ---)
    objects++;
    const {errors} = await validateObject(value);
    if (errors.length === 0) {
      report.ok(`ok ${label(value)}`);
      continue;
    }
    for (const err of errors) {
      const line = lineOf(doc, lineCounter, err.path);
      report.error(`error ${where(line)} ${label(value)}: ${err.path || '/'}: ${err.message}`);
    }
    report.invalidObject();
  }
  if (objects === 0 && report.fileErrors === 0) {
    report.error(`error ${shown}: no Kubernetes object in the file`);
  }
}

const files = process.argv.slice(2);
if (files.length === 0 || files.some((f) => f.startsWith('-'))) {
  console.error('usage: node validate.mjs FILE...   (multi-document Kubernetes YAML files)');
  process.exit(2);
}
const totals = {valid: 0, invalid: 0, errors: 0};
for (const file of files) {
  const report = {
    fileErrors: 0,
    ok: (line) => {
      console.log(line);
      totals.valid++;
    },
    error: (line) => {
      console.log(line);
      totals.errors++;
      report.fileErrors++;
    },
    invalidObject: () => totals.invalid++,
  };
  await validateFile(file, report);
}
console.log(`validate: ${totals.valid} valid, ${totals.invalid} invalid object(s), ` +
            `${totals.errors} error(s) in ${files.length} file(s) against the Kubernetes ` +
            `${kKubernetesVersion} schemas (kubernetes-models ${modelsVersion})`);
process.exitCode = totals.errors === 0 ? 0 : 1;
