// Bundles Gennaker's Deck (src/app.ts + @spinnaker/core from node_modules) with esbuild.
//
//   node build.mjs OUTDIR [--sourcemap]
//
// OUTDIR receives index.html, app.js, app.css, version.json, plugin-manifest.json and
// assets/ (fonts, images).
// settings.js is NOT written here: gate generates it from the halconfig at run time.
// The bundle must work offline: any absolute http(s) URL a stylesheet would fetch is
// replaced, and the build fails if one is left.
import { build } from 'esbuild';
import { copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const sourcemap = args.includes('--sourcemap');
const outArg = args.find((a) => !a.startsWith('--'));
if (!outArg) {
  console.error('usage: node build.mjs OUTDIR [--sourcemap]');
  process.exit(2);
}
const outdir = path.resolve(outArg);
const started = Date.now();
const log = (msg) => console.log(`[build-ui] ${msg}`);

const require = createRequire(import.meta.url);
const coreVersion = require('@spinnaker/core/package.json').version;

// Deck's dist imports 'root/version.json' (an alias in Deck's own webpack config) for its
// "new version available" check; give it this build's identity.
const versionInfo = { version: `gennaker-deck core-${coreVersion}`, created: started };

// Modules that @spinnaker/core only require()s to hand them to Deck plugins. When one is
// not installed (kayenta, redux helpers), an empty module stands in; plugins are not used.
const OPTIONAL = new Set(['ajv', 'react-redux', 'redux-actions', 'reselect', '@spinnaker/kayenta']);

const deckPlugin = {
  name: 'gennaker-deck',
  setup(b) {
    b.onResolve({ filter: /^root\/version\.json$/ }, (a) => ({ path: a.path, namespace: 'gennaker-version' }));
    b.onLoad({ filter: /.*/, namespace: 'gennaker-version' }, () => ({
      contents: JSON.stringify(versionInfo),
      loader: 'json',
    }));
    b.onResolve({ filter: /^[@a-z]/ }, async (a) => {
      // Only for Deck's own require()s: our shell's imports (kayenta in app.ts) must resolve.
      if (!OPTIONAL.has(a.path) || a.pluginData?.optional || !a.importer.includes('/node_modules/')) {
        return undefined;
      }
      const r = await b.resolve(a.path, {
        kind: a.kind,
        resolveDir: a.resolveDir,
        importer: a.importer,
        pluginData: { optional: true },
      });
      if (r.errors.length === 0) return r;
      log(`optional module ${a.path} not installed: using an empty stand-in`);
      return { path: a.path, namespace: 'gennaker-empty' };
    });
    b.onLoad({ filter: /.*/, namespace: 'gennaker-empty' }, () => ({ contents: 'module.exports = {};', loader: 'js' }));
  },
};

const fileLoaders = Object.fromEntries(
  ['.woff', '.woff2', '.ttf', '.eot', '.otf', '.svg', '.png', '.gif', '.jpg', '.jpeg', '.ico'].map((e) => [e, 'file']),
);

async function main() {
  log(`bundling src/app.ts (@spinnaker/core ${coreVersion}) into ${outdir}`);
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });

  const result = await build({
    absWorkingDir: here,
    entryPoints: { app: 'src/app.ts' },
    outdir,
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['es2019'],
    minify: true,
    sourcemap: sourcemap ? 'external' : false,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    // Old vendor stylesheets (IE hacks in select2, empty :not() in the styleguide) are
    // passed through as they are; browsers ignore those rules either way.
    logOverride: { 'css-syntax-error': 'silent' },
    assetNames: 'assets/[name]-[hash]',
    loader: { ...fileLoaders, '.html': 'text' },
    // Several of Deck's dependencies test process.env.NODE_ENV or reach for node globals.
    define: { 'process.env.NODE_ENV': '"production"', global: 'globalThis' },
    inject: [path.join(here, 'src/shims/process.js')],
    plugins: [deckPlugin],
  });
  for (const w of result.warnings) log(`warning: ${w.text}`);
  log(`esbuild done in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  await neutralizeRemoteUrls(path.join(outdir, 'app.css'));
  await copyFile(path.join(here, 'src/index.html'), path.join(outdir, 'index.html'));
  await writeFile(path.join(outdir, 'version.json'), JSON.stringify(versionInfo) + '\n');
  // Deck asks its own origin for /plugin-manifest.json at start-up and waits for it before
  // routing; we ship no Deck plugins.
  await writeFile(path.join(outdir, 'plugin-manifest.json'), '[]\n');

  const files = await listFiles(outdir);
  let total = 0;
  let assets = 0;
  for (const f of files) {
    total += f.size;
    if (f.rel.startsWith('assets/')) assets += f.size;
    else log(`  ${f.rel.padEnd(20)} ${kib(f.size)}`);
  }
  const assetCount = files.filter((f) => f.rel.startsWith('assets/')).length;
  log(`  ${'assets/'.padEnd(20)} ${kib(assets)} in ${assetCount} files`);
  log(`bundle ${kib(total)} total, built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

// Stylesheets from npm sometimes @import web fonts or url() images from a CDN. Deck must not
// leave the suite's origin, so such rules are dropped; fonts come from the bundled packages.
async function neutralizeRemoteUrls(cssPath) {
  let css = await readFile(cssPath, 'utf8');
  const before = css.length;
  css = css.replace(/@import\s+(url\()?\s*["']?https?:\/\/[^;]*;/gi, (m) => {
    log(`dropped remote ${m.slice(0, 100)}`);
    return '';
  });
  css = css.replace(/url\(\s*["']?(https?:)?\/\/[^)]*\)/gi, (m) => {
    log(`dropped remote ${m.slice(0, 100)}`);
    return 'none';
  });
  if (css.length !== before) await writeFile(cssPath, css);
  const left = css.match(/(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}\/[^\s"')]*\.(woff2?|ttf|eot|otf|css)\b/gi);
  if (left) throw new Error(`app.css still loads remote resources: ${left.join(', ')}`);
}

async function listFiles(dir, prefix = '') {
  const out = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix + e.name;
    if (e.isDirectory()) out.push(...(await listFiles(path.join(dir, e.name), rel + '/')));
    else out.push({ rel, size: (await stat(path.join(dir, e.name))).size });
  }
  return out.sort((a, b) => a.rel.localeCompare(b.rel));
}

function kib(n) {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(2)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}

main().catch((e) => {
  console.error(`[build-ui] FAILED: ${e.message}`);
  process.exit(1);
});
