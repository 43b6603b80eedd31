#!/usr/bin/env node
/**
 * Bundles each entry (edgecore, edgerelay, edgectl) into one ESM file in dist/, with a source
 * map beside it. Native addons (and the packages that load them by path) stay external: they
 * are installed next to the bundle (node_modules) or shipped per target by `--target`.
 *
 *   node build.mjs            -> dist/{edgecore,edgerelay,edgectl}.js (+ .map), and edgectl as the
 *                                kubectl plugin: dist/kubectl-edge.js (imports edgectl.js) and
 *                                dist/kubectl-edge (sh: runs it; link or copy it onto PATH)
 *   node build.mjs --target linux-arm64|linux-armv7|linux-x64|all [options]
 *                             -> builds/<target>/edgecore-<version>-<target>.tar.gz (+ .sha256,
 *                                install.sh, build-info.json): bundles, target Node runtime and
 *                                addons, systemd units, installer, SHA256SUMS. See docs/packaging.md.
 *     --version V             artifact version (default: package.json's)
 *     --out DIR               instead of builds/
 *     --cache DIR             Node runtimes and compiled addons (default builds/.cache)
 *     --rebuild-native        compile addons even where the host's own build could be reused
 *     --if-changed            skip a target whose inputs (sources, lockfile, scripts) did not change
 *     --jobs N                node-gyp parallel jobs per target (default 2)
 */
import { build } from 'esbuild';
import { chmodSync, readFileSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** Packages with native addons (or optional native parts) that must not be bundled. */
export const NATIVE_EXTERNALS = [
  'better-sqlite3',
  'onoff',
  'epoll',
  'i2c-bus',
  'serialport',
  '@serialport/*',
  'ssh2',
  'cpu-features',
];

/**
 * Packages mqtt.js loads on Node that a node or relay never runs: `socks` (with ip-address and
 * smart-buffer; only for MQTTJS_SOCKS_PROXY, which edgecore does not offer) and `worker-timers`
 * (browser Web Workers' keepalive timers). Each becomes a stub that throws if ever called. Their
 * source is ~130 KiB of the MQTT chunk, which V8 keeps for the life of the process, and their
 * module code runs when mqtt.js loads (docs/benchmarks.md, footprint, fourth round).
 */
export const STUBBED_FOR_MQTT = ['socks', 'worker-timers'];
export const stubUnused = {
  name: 'edgecore-stub-unused',
  setup(b) {
    const filter = new RegExp(`^(${STUBBED_FOR_MQTT.join('|')})$`);
    b.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'edgecore-stub' }));
    // mqtt.js and bl each bundle their own copy of readable-stream 4 (Node 18's streams for
    // browsers and old Node: ~116 KiB of source each); on Node 20 they get node:stream itself
    b.onResolve({ filter: /^readable-stream$/ }, (args) =>
      /[\\/]node_modules[\\/](mqtt|bl)[\\/]/.test(args.importer) ? { path: 'node:stream', external: true } : undefined,
    );
    // `debug` (mqtt.js, mqtt-packet, aedes): off unless DEBUG is set, yet every call builds its
    // argument array first: ~10 % of the daemon's allocations with 50 devices reporting. With
    // DEBUG unset the bundle gets a logger that does nothing; with it set, the real one.
    b.onResolve({ filter: /^debug$/ }, async (args) => {
      if (args.pluginData === 'real-debug') return undefined;
      const real = await b.resolve(args.path, { resolveDir: args.resolveDir, kind: args.kind, importer: args.importer, pluginData: 'real-debug' });
      return real.errors.length ? undefined : { path: real.path, namespace: 'edgecore-debug' };
    });
    b.onLoad({ filter: /.*/, namespace: 'edgecore-debug' }, (args) => ({
      loader: 'js',
      resolveDir: dirname(args.path),
      contents: `const off = () => { const d = () => undefined; d.enabled = false; d.namespace = ''; d.extend = off; d.log = d; d.destroy = d; return d; };
Object.assign(off, { enable: () => undefined, disable: () => '', enabled: () => false, formatters: {} });
off.default = off;
off.debug = off;
module.exports = process.env.DEBUG ? require(${JSON.stringify(args.path)}) : off;`,
    }));
    b.onLoad({ filter: /.*/, namespace: 'edgecore-stub' }, (args) => ({
      loader: 'js',
      contents: `const no = () => { throw new Error(${JSON.stringify(`${args.path} is not part of edgecore's bundle (build.mjs, STUBBED_FOR_MQTT)`)}); };
module.exports = new Proxy({}, { get: (_, k) => (k === '__esModule' ? false : no) });`,
    }));
  },
};

export const ENTRIES = ['edgecore', 'edgerelay', 'edgectl'];
/** what gets a launcher in bin/ (artifacts) and a link in /usr/local/bin (install.sh): the entries and the kubectl plugin */
export const PROGRAMS = [...ENTRIES, 'kubectl-edge'];

/**
 * edgectl as a kubectl plugin: kubectl runs `kubectl-edge` from PATH for `kubectl edge ...`.
 * kubectl-edge.js runs edgectl's bundle under its own name (edgectl reads it from argv[1] to say
 * `kubectl edge` in its help); `kubectl-edge` is the executable kubectl finds (a tiny sh wrapper,
 * as a bundle without an extension would need Node >= 20.10 to load as ESM).
 */
function writePlugin(outdir) {
  writeFileSync(join(outdir, 'kubectl-edge.js'), "#!/usr/bin/env node\n// edgectl as the kubectl plugin `kubectl edge` (see build.mjs)\nimport './edgectl.js';\n");
  writeFileSync(
    join(outdir, 'kubectl-edge'),
    '#!/bin/sh\n# `kubectl edge ...`: edgectl as a kubectl plugin; runs kubectl-edge.js beside the real file of this one\nexec node "$(dirname "$(readlink -f "$0")")/kubectl-edge.js" "$@"\n',
  );
  for (const f of ['kubectl-edge.js', 'kubectl-edge']) chmodSync(join(outdir, f), 0o755);
}

export async function bundle(outdir = join(root, 'dist'), version = pkg.version) {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const started = Date.now();
  const result = await build({
    entryPoints: Object.fromEntries(ENTRIES.map((e) => [e, join(root, 'src/cli', e, 'entry.ts')])),
    outdir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    sourcemap: 'linked',
    // Modules are imported lazily (src/node/modules.ts): a disabled module's code and its
    // libraries are never loaded, which keeps the idle footprint down.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    minifySyntax: true,
    minifyWhitespace: true,
    legalComments: 'linked',
    external: NATIVE_EXTERNALS,
    plugins: [stubUnused],
    define: { __EDGECORE_VERSION__: JSON.stringify(version) },
    metafile: true,
    // ESM output still meets CommonJS dependencies that call require()/__dirname.
    banner: {
      js: [
        "import { createRequire as __ecCreateRequire } from 'node:module';",
        "import { fileURLToPath as __ecFileURLToPath } from 'node:url';",
        "import { dirname as __ecDirname } from 'node:path';",
        'const require = __ecCreateRequire(import.meta.url);',
        'const __filename = __ecFileURLToPath(import.meta.url);',
        'const __dirname = __ecDirname(__filename);',
      ].join('\n'),
    },
    logLevel: 'warning',
  });
  for (const e of ENTRIES) chmodSync(join(outdir, `${e}.js`), 0o755);
  writePlugin(outdir);
  return { outdir, ms: Date.now() - started, metafile: result.metafile };
}

const FIELD_USAGE = 'usage: node build.mjs [--target linux-arm64|linux-armv7|linux-x64|all] [--version V] [--out DIR] [--cache DIR] [--rebuild-native] [--if-changed] [--jobs N]';

/** `--target ...`: the field artifacts (logic in scripts/build/). */
export async function buildField(argv) {
  const { parseArgs } = await import('node:util');
  const { values } = parseArgs({
    args: argv,
    options: {
      target: { type: 'string' },
      version: { type: 'string', default: pkg.version },
      out: { type: 'string', default: join(root, 'builds') },
      cache: { type: 'string', default: join(root, 'builds', '.cache') },
      'rebuild-native': { type: 'boolean', default: false },
      'if-changed': { type: 'boolean', default: false },
      jobs: { type: 'string', default: '2' },
    },
  });
  const { TARGET_NAMES } = await import('./scripts/build/targets.mjs');
  const { buildTargets } = await import('./scripts/build/field.mjs');
  const targets = values.target === 'all' ? TARGET_NAMES : [values.target];
  if (!targets.every((t) => TARGET_NAMES.includes(t))) throw new Error(`unknown target "${values.target ?? ""}"`);
  if (!/^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/.test(values.version)) throw new Error(`--version: "${values.version}" is not a semantic version`);
  const outRoot = values.out;
  return buildTargets({
    root,
    targets,
    version: values.version,
    outRoot,
    cacheDir: values.cache,
    rebuildNative: values['rebuild-native'],
    ifChanged: values['if-changed'],
    jobs: Number(values.jobs) || 2,
    entries: PROGRAMS,
    bundle: (dir) => bundle(dir, values.version),
    log: (m) => process.stdout.write(`[build] ${m}\n`),
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const argv = process.argv.slice(2);
  if (argv.length === 0) {
    const { outdir, ms } = await bundle();
    process.stdout.write(`bundled ${ENTRIES.join(', ')} (and kubectl-edge) into ${outdir} in ${ms} ms\n`);
  } else {
    try {
      const started = Date.now();
      const infos = await buildField(argv);
      process.stdout.write(`[build] done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${infos.map((i) => `${i.target}/${i.tarball}`).join(', ')}\n`);
    } catch (e) {
      process.stderr.write(`build: ${e instanceof Error ? e.message : String(e)}\n${FIELD_USAGE}\n`);
      process.exitCode = 1;
    }
  }
}
