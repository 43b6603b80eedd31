#!/usr/bin/env node
/**
 * The main job on embedded defaults: a local relay (embedded MQTT broker, SQLite) and one edge
 * node joined to it, all data under .edgecore/ in this checkout. Prints how to use edgectl.
 * Ctrl-C stops both. Re-running reuses the same relay, node identity and objects.
 *
 *   node scripts/demo.mjs            (after `npm ci && node build.mjs`; scripts/up.sh does all)
 *
 * Ports (env overrides): EDGECORE_DEMO_API (8080, HTTPS), EDGECORE_DEMO_MQTT (1884, MQTT over TLS),
 * EDGECORE_DEMO_WS (8084, wss), EDGECORE_DEMO_EVENTBUS (1885, the node-local mapper broker).
 * EDGECORE_DEMO_NODE names the node. The relay makes its own CA on first start
 * (.edgecore/relay/data/pki/ca.crt); the node joins with the CA's pin, as `edgerelay token` prints it.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const base = join(root, '.edgecore');
const env = process.env;
const API = Number(env.EDGECORE_DEMO_API ?? 8080);
const MQTT = Number(env.EDGECORE_DEMO_MQTT ?? 1884);
const WS = Number(env.EDGECORE_DEMO_WS ?? 8084);
const EVENTBUS = Number(env.EDGECORE_DEMO_EVENTBUS ?? 1885);
const NODE = env.EDGECORE_DEMO_NODE ?? 'edge-demo';
const say = (s) => process.stdout.write(`\x1b[1m==> ${s}\x1b[0m\n`);

for (const e of ['edgerelay', 'edgecore', 'edgectl']) {
  if (!existsSync(join(root, 'dist', `${e}.js`))) {
    say('bundling (dist/ missing)');
    execFileSync(process.execPath, [join(root, 'build.mjs')], { stdio: 'inherit' });
    break;
  }
}
mkdirSync(join(base, 'relay'), { recursive: true, mode: 0o700 });
mkdirSync(join(base, 'node'), { recursive: true, mode: 0o700 });

// relay config (admin token generated once)
const tokenFile = join(base, 'admin-token');
if (!existsSync(tokenFile)) writeFileSync(tokenFile, `eca.${randomBytes(18).toString('base64url')}\n`, { mode: 0o600 });
const admin = readFileSync(tokenFile, 'utf8').trim();
const relayConfig = join(base, 'relay', 'edgerelay.yaml');
writeFileSync(
  relayConfig,
  [
    `dataDir: ${join(base, 'relay', 'data')}`,
    'api:',
    `  port: ${API}`,
    `  adminToken: ${admin}`,
    'broker:',
    '  tls:',
    `    port: ${MQTT}`,
    '  ws:',
    `    port: ${WS}`,
    '',
  ].join('\n'),
  { mode: 0o600 },
);

// the test/demo image: busybox-static imported locally (no registry needed)
function ensureImage() {
  const name = 'edgecore-test/busybox:1';
  try {
    execFileSync('docker', ['image', 'inspect', name], { stdio: 'ignore' });
    return;
  } catch {
    /* build it */
  }
  const bb = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));
  if (!bb) return say(`no busybox-static to build ${name} (apt-get install busybox-static); the pod examples need it`);
  say(`building local image ${name}`);
  const dir = mkdtempSync(join(tmpdir(), 'edgecore-rootfs-'));
  try {
    for (const d of ['bin', 'etc', 'tmp', 'root', 'proc', 'sys', 'dev']) mkdirSync(join(dir, d), { recursive: true });
    chmodSync(join(dir, 'tmp'), 0o1777);
    copyFileSync(bb, join(dir, 'bin/busybox'));
    chmodSync(join(dir, 'bin/busybox'), 0o755);
    execFileSync('sh', ['-c', `cd "${dir}/bin" && for a in $(./busybox --list); do [ "$a" = busybox ] || ln -sf /bin/busybox "$a"; done`]);
    writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    writeFileSync(join(dir, 'etc/group'), 'root:x:0:\n');
    execFileSync('sh', ['-c', `tar -C "${dir}" -c . | docker import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' - ${name}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
try {
  ensureImage();
} catch (e) {
  say(`Docker not usable (${e.message.split('\n')[0]}); pods will wait for it, devices and configmaps work`);
}

const children = [];
function run(name, args) {
  const c = spawn(process.execPath, [join(root, 'dist', `${name}.js`), ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
  children.push(c);
  c.on('exit', (code, sig) => {
    if (!stopping) {
      say(`${name} exited (${code ?? sig}); stopping`);
      stop(1);
    }
  });
  return c;
}
let stopping = false;
function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const c of children.reverse()) c.kill('SIGTERM');
  setTimeout(() => process.exit(code), 3000).unref();
  Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r() : c.once('exit', r))))).then(() => process.exit(code));
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

const server = `https://127.0.0.1:${API}`;
const caFile = join(base, 'relay', 'data', 'pki', 'ca.crt');
/** one HTTPS request trusting the relay's CA (Node's fetch takes no CA) */
function call(method, path, body) {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`${server}${path}`, { method, ca: readFileSync(caFile), headers: { authorization: `Bearer ${admin}` } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => (res.statusCode < 300 ? resolve(/json/.test(res.headers['content-type'] ?? '') ? JSON.parse(text) : text) : reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`))));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}
async function waitHealthy() {
  for (let i = 0; i < 100; i++) {
    try {
      if (existsSync(caFile) && (await call('GET', '/healthz'))) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`relay did not answer on ${server}`);
}

say(`starting edgerelay (API ${server}, MQTT :${MQTT}, WebSocket :${WS})`);
run('edgerelay', ['run', '--config', relayConfig]);
await waitHealthy();

const nodeConfig = join(base, 'node', 'edgecore.yaml');
const joined = existsSync(nodeConfig) && /enabled: true/.test(readFileSync(nodeConfig, 'utf8')) && readFileSync(nodeConfig, 'utf8').includes(`mqtts://127.0.0.1:${MQTT}`);
if (!joined) {
  writeFileSync(
    nodeConfig,
    [
      `node: { name: ${NODE} }`,
      `dataDir: ${join(base, 'node', 'data')}`,
      'ops: { port: 0 }',
      'modules:',
      `  edged: { staticPodPath: "" }`,
      `  eventbus: { port: ${EVENTBUS} }`,
      '  metamanager: { api: { port: 0 } }',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  // a node the relay already knows (an older demo run) joins again only with the admin's consent
  const known = await call('GET', `/edge/v1/nodes/${NODE}`).then(() => true, () => false);
  if (known) execFileSync(process.execPath, [join(root, 'dist/edgerelay.js'), 'node', 'allow-rejoin', NODE, '--config', relayConfig], { stdio: 'inherit' });
  const { token, caHash } = await call('POST', '/edge/v1/tokens', {});
  say(`joining node "${NODE}" with a bootstrap token, pinning the relay's CA (${caHash})`);
  execFileSync(process.execPath, [join(root, 'dist/edgecore.js'), 'join', '--relay', server, '--token', token, '--ca-hash', caHash, '--config', nodeConfig], { stdio: 'inherit' });
}
say('starting edgecore');
run('edgecore', ['run', '--config', nodeConfig]);

const ctlConfig = join(base, 'edgectl.yaml');
writeFileSync(ctlConfig, `server: ${server}\ntoken: ${admin}\ncaFile: ${caFile}\n`, { mode: 0o600 });
const kubeconfig = join(base, 'kubeconfig');
writeFileSync(kubeconfig, execFileSync(process.execPath, [join(root, 'dist/edgerelay.js'), 'kubeconfig', '--config', relayConfig], { encoding: 'utf8' }), { mode: 0o600 });
process.stdout.write(`
Relay and node are running (data in ${base}). In another shell, from ${root}
(edgectl finds .edgecore/edgectl.yaml there; elsewhere: export EDGECTL_CONFIG=${ctlConfig}):

  alias edgectl="node ${join(root, 'dist/edgectl.js')}"
  edgectl get nodes
  edgectl apply -f ${join(root, 'examples')}/
  edgectl get pods
  edgectl get devices -o wide
  edgectl logs hello -f
  edgectl twin set thermo-1 setpoint=25

The API is HTTPS with the relay's own CA; ${kubeconfig} carries it with the admin token
(kubectl --kubeconfig ${kubeconfig} ...).

Ctrl-C stops both.
`);
