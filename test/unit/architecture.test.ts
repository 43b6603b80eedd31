/**
 * The house's dependency rules, checked on the source: each rule names a folder and the folders
 * it must never import from; modules do not import each other; node and relay share only the
 * contract (and generic core/lib code); only the uplink touches the outbox and builds upstream
 * reports. Breaking one fails here, before it becomes a tangle.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/tmp.js';

const SRC = join(ROOT, 'src');

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Relative imports of a file, resolved to paths under src/ (e.g. "modules/edged/module.ts"). */
function importsOf(file: string): { spec: string; target: string }[] {
  const text = readFileSync(file, 'utf8');
  const out: { spec: string; target: string }[] = [];
  const re = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const m of text.matchAll(re)) {
    const spec = m[1] ?? m[2]!;
    const target = spec.startsWith('.') ? relative(SRC, resolve(dirname(file), spec)) : `npm:${spec}`;
    out.push({ spec, target });
  }
  return out;
}

const RULES: { from: string; forbidden: string[]; why: string }[] = [
  // kind definitions are pure: no I/O library, none of the relay's I/O modules
  { from: 'relay/kinds/', forbidden: ['npm:better-sqlite3', 'npm:mqtt', 'npm:aedes', 'npm:ws', 'npm:node:fs', 'npm:node:child_process', 'npm:node:http', 'npm:node:https', 'relay/api', 'relay/service', 'relay/nodelink/', 'relay/broker', 'relay/http', 'relay/rpc', 'relay/relay', 'relay/mosquitto', 'relay/controllers/', 'relay/store/objects-sqlite', 'relay/store/objects-postgres', 'relay/store/pg-', 'npm:pg'], why: 'kind definitions are pure data and functions; the API machinery mounts them' },
  { from: 'core/', forbidden: ['modules/', 'node/', 'relay/', 'ctl/', 'drivers/', 'store/', 'config/', 'contract/'], why: 'core knows no module' },
  { from: 'lib/', forbidden: ['modules/', 'node/', 'relay/', 'ctl/', 'drivers/', 'store/'], why: 'lib is generic' },
  { from: 'drivers/', forbidden: ['modules/', 'node/', 'relay/', 'ctl/', 'contract/', 'store/', 'npm:mqtt', 'npm:aedes'], why: 'drivers know no MQTT, relay or modules' },
  { from: 'relay/', forbidden: ['modules/', 'node/', 'store/', 'drivers/', 'ctl/'], why: 'the relay shares only the wire contract with the node' },
  { from: 'modules/', forbidden: ['relay/', 'ctl/'], why: 'the node shares only the wire contract with the relay' },
  { from: 'node/', forbidden: ['relay/', 'ctl/'], why: 'the node shares only the wire contract with the relay' },
  { from: 'store/', forbidden: ['relay/', 'ctl/', 'modules/'], why: 'the store serves modules, not the other way' },
  { from: 'ctl/', forbidden: ['modules/', 'node/', 'store/', 'drivers/', 'relay/'], why: 'edgectl talks only to the relay API' },
  {
    from: 'relay/controllers/',
    forbidden: ['relay/store/', 'relay/apiserver/http/', 'relay/nodelink/', 'relay/broker/'],
    why: 'controllers are API clients: nothing writes the store behind the API (the node link hands them liveness by interface)',
  },
  {
    from: 'relay/nodelink/',
    forbidden: ['relay/store/sqlite', 'relay/store/objects-sqlite', 'relay/store/objects-postgres', 'relay/store/pg-', 'npm:pg', 'relay/broker/embedded', 'relay/broker/external', 'relay/api.js', 'relay/service.js', 'relay/relay.js'],
    why: 'the node link reads and writes objects through the API (its only store writes are report dedup marks) and reaches nodes through the transport interface',
  },
  { from: 'relay/apiserver/', forbidden: ['relay/controllers/', 'relay/nodelink/', 'relay/broker/', 'relay/service', 'relay/store/sqlite', 'relay/store/objects-sqlite', 'relay/store/objects-postgres', 'relay/store/pg-', 'npm:pg'], why: 'the API machinery is generic over kinds and stores' },
  { from: 'relay/store/', forbidden: ['relay/apiserver/', 'relay/controllers/', 'relay/kinds/'], why: 'the store knows objects, not the API' },
  { from: 'relay/patch/', forbidden: ['relay/store/', 'relay/kinds/', 'relay/broker/', 'npm:better-sqlite3', 'npm:node:fs', 'npm:node:http', 'npm:node:https'], why: 'patch and apply are pure functions on JSON' },
  { from: 'relay/openapi/', forbidden: ['relay/store/', 'relay/patch/', 'relay/broker/', 'npm:better-sqlite3', 'npm:node:fs', 'npm:node:http', 'npm:node:https'], why: 'OpenAPI documents are pure data and functions' },
  { from: 'contract/', forbidden: ['modules/', 'node/', 'store/', 'drivers/', 'relay/', 'ctl/', 'cli/', 'config/'], why: 'the contract depends on nothing of either side' },
  { from: 'cli/edgecore/', forbidden: ['relay/', 'ctl/', 'cli/edgerelay/', 'cli/edgectl/'], why: "each program's command line is its own" },
  { from: 'cli/edgerelay/', forbidden: ['modules/', 'node/', 'store/', 'drivers/', 'ctl/', 'cli/edgecore/', 'cli/edgectl/'], why: "each program's command line is its own" },
  { from: 'cli/edgectl/', forbidden: ['modules/', 'node/', 'store/', 'drivers/', 'relay/', 'cli/edgecore/', 'cli/edgerelay/'], why: "each program's command line is its own" },
  {
    from: 'relay/tls/',
    forbidden: ['relay/store/', 'relay/broker/', 'relay/service.ts', 'relay/api.ts', 'relay/edge.ts', 'relay/sync.ts', 'relay/tokens.ts'],
    why: 'the trust plumbing (CA, certificates, listener) knows no store, broker, routes or tokens',
  },
];

test('dependency rules between src/ folders hold', () => {
  const broken: string[] = [];
  for (const file of files(SRC)) {
    const rel = relative(SRC, file);
    for (const rule of RULES) {
      if (!rel.startsWith(rule.from)) continue;
      for (const imp of importsOf(file)) {
        const hit = rule.forbidden.find((f) => (f.startsWith('npm:') ? imp.target === f || imp.target.startsWith(`${f}/`) : imp.target.startsWith(f)));
        if (hit) broken.push(`${rel} imports ${imp.spec} (${rule.why})`);
      }
    }
  }
  assert.deepEqual(broken, []);
});

test('the rule checker itself sees imports (guards against a vacuous pass)', () => {
  const sample = importsOf(join(SRC, 'node/messages.ts'));
  assert.ok(sample.some((i) => i.target.startsWith('modules/')), 'node/messages.ts imports module message types');
});

const MODULE = /^modules\/([^/]+)\//;

test('modules do not import each other: they talk over the bus (node/messages.ts joins their messages)', () => {
  const broken: string[] = [];
  for (const file of files(SRC)) {
    const rel = relative(SRC, file);
    const own = MODULE.exec(rel)?.[1];
    if (!own) continue;
    for (const imp of importsOf(file)) {
      const other = MODULE.exec(imp.target)?.[1];
      if (other && other !== own) broken.push(`${rel} imports ${imp.spec}`);
    }
  }
  assert.deepEqual(broken, []);
});

/** The node's side of the tree (everything that runs inside edgecore). */
const NODE_SIDE = ['modules/', 'node/', 'store/', 'drivers/', 'config/', 'cli/edgecore/'];
/** The cloud side: the relay and edgectl. */
const CLOUD_SIDE = ['relay/', 'ctl/', 'cli/edgerelay/', 'cli/edgectl/'];
/** What both sides may share: the wire contract, and generic code that knows neither. */
const SHARED = ['contract/', 'core/', 'lib/', 'version.ts', 'cli/args.ts'];

test('node and relay share nothing but the contract (and generic core/lib code)', () => {
  const importedBy = (sides: string[]): Set<string> => {
    const out = new Set<string>();
    for (const file of files(SRC)) {
      const rel = relative(SRC, file);
      if (!sides.some((s) => rel.startsWith(s))) continue;
      for (const imp of importsOf(file)) if (!imp.target.startsWith('npm:') && !imp.target.startsWith('..')) out.add(imp.target.replace(/\.js$/, '.ts'));
    }
    return out;
  };
  const node = importedBy(NODE_SIDE);
  const cloud = importedBy(CLOUD_SIDE);
  const both = [...node].filter((t) => cloud.has(t));
  assert.ok(both.some((t) => t.startsWith('contract/')), 'both sides use the contract (guards against a vacuous pass)');
  assert.deepEqual(both.filter((t) => !SHARED.some((s) => t.startsWith(s))), []);
});

/** The node files that may touch the outbox: the uplink, and the store that builds it. */
const OUTBOX_OWNERS = new Set(['store/uplink.ts', 'store/outbox.ts', 'store/store.ts']);
/** a use of the outbox: the store's field, or one of the Outbox methods */
const OUTBOX_USE = /\bstore\.outbox\b|\boutbox\.(enqueue\w*|peek|ack|stats|onEnqueue)\b|\{\s*outbox\s*\}\s*=/;

test('only the uplink writes the outbox; only it builds upstream reports', () => {
  const broken: string[] = [];
  for (const file of files(SRC)) {
    const rel = relative(SRC, file);
    if (!NODE_SIDE.some((s) => rel.startsWith(s)) || OUTBOX_OWNERS.has(rel)) continue;
    const text = readFileSync(file, 'utf8');
    if (OUTBOX_USE.test(text)) broken.push(`${rel} touches the outbox`);
    if (importsOf(file).some((i) => i.target === 'store/outbox.js')) broken.push(`${rel} imports the outbox`);
    if (/topics\.reported(State|Telemetry)|\b(ReportedState|ReportedTelemetry)\b/.test(text)) broken.push(`${rel} builds an upstream report`);
  }
  assert.deepEqual(broken, []);
  // the checker sees what it must refuse
  assert.ok(OUTBOX_USE.test("store.outbox.enqueueState('k', 't', '{}')"));
  assert.ok(OUTBOX_USE.test('const { outbox } = ctx.services.store;'));
  assert.ok(!OUTBOX_USE.test('openNodeStore(file, { outbox: config.modules.edgehub.outbox })'), 'outbox limits in the config are not a use');
});

test('no source file grows past 600 lines', () => {
  const big = files(SRC)
    .map((f) => [relative(SRC, f), readFileSync(f, 'utf8').split('\n').length] as const)
    .filter(([, n]) => n > 600);
  assert.deepEqual(big, []);
});

test('the X.509 library is loaded only by relay/tls/x509.ts, and that file only lazily', () => {
  const found: string[] = [];
  for (const file of files(SRC)) {
    const rel = relative(SRC, file);
    const text = readFileSync(file, 'utf8');
    for (const pkg of ['@peculiar/x509', 'reflect-metadata']) {
      if (text.includes(`'${pkg}`) && rel !== 'relay/tls/x509.ts') found.push(`${rel} names ${pkg}`);
    }
    for (const imp of importsOf(file)) {
      if (imp.target === 'relay/tls/x509.js' && !/import\(\s*['"]\.\/x509\.js['"]\s*\)/.test(text)) found.push(`${rel} imports x509.ts eagerly`);
      if (imp.target === 'relay/tls/x509.js' && staticValueImports(text, imp.spec).length) found.push(`${rel} imports x509.ts statically`);
    }
  }
  assert.deepEqual(found, []);
});

/** Hardware libraries cost RSS on every node (serialport ~10 MiB): they load only when a device needs them. */
const LAZY_PACKAGES = ['serialport', 'onoff', 'i2c-bus'];

/** Static value imports (not `import type`, not `import()`) of a package in a file's text. */
function staticValueImports(text: string, pkg: string): string[] {
  const re = /^\s*import\s+(?!type\s)[^'"]*?from\s*['"]([^'"]+)['"]/gm;
  return [...text.matchAll(re)].map((m) => m[1]!).filter((s) => s === pkg || s.startsWith(`${pkg}/`));
}

test('zod is imported as a namespace, so the bundle keeps only what is used (the whole of zod costs ~2.5 MiB RSS more)', () => {
  const named: string[] = [];
  for (const file of files(SRC)) {
    const text = readFileSync(file, 'utf8');
    if (/import\s+\{[^}]*\}\s+from\s+['"]zod['"]/.test(text)) named.push(relative(SRC, file));
    if (/export\s+\{[^}]*\bz\b[^}]*\}/.test(text)) named.push(`${relative(SRC, file)} re-exports z`);
  }
  assert.deepEqual(named, []);
});

test('the daemon talks to Docker with its own small client: dockerode is for tests only', () => {
  const users = files(SRC).filter((f) => importsOf(f).some((i) => i.target === 'npm:dockerode' || i.target.startsWith('npm:dockerode/')));
  assert.deepEqual(users.map((f) => relative(SRC, f)), []);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  assert.equal(pkg.dependencies.dockerode, undefined);
  assert.ok(pkg.devDependencies.dockerode);
});

test('hardware and engine libraries are imported lazily outside lazily loaded modules', () => {
  const eager: string[] = [];
  for (const file of files(SRC)) {
    const rel = relative(SRC, file);
    // a module folder is itself loaded only when enabled (src/node/modules.ts)
    if (rel.startsWith('modules/edged/')) continue;
    const text = readFileSync(file, 'utf8');
    for (const pkg of LAZY_PACKAGES) for (const s of staticValueImports(text, pkg)) eager.push(`${rel} imports ${s} statically`);
  }
  assert.deepEqual(eager, []);
  // the checker sees what it must refuse
  assert.deepEqual(staticValueImports("import { SerialPort } from 'serialport';\nimport type { Gpio } from 'onoff';", 'serialport'), ['serialport']);
  assert.deepEqual(staticValueImports("import type { Gpio } from 'onoff';\nconst { Gpio: G } = await import('onoff');", 'onoff'), []);
});
