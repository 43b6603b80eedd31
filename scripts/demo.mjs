#!/usr/bin/env node
/**
 * The main job on embedded defaults: a local relay (embedded MQTT broker, SQLite) and one edge
 * node joined to it, all data under .edgecore/ in this checkout. Prints how to use kubectl (a
 * kubeconfig in .edgecore/) and edgectl.
 * Ctrl-C stops both. Re-running reuses the same relay, node identity and objects.
 *
 *   node scripts/demo.mjs            (after `npm ci && node build.mjs`; scripts/up.sh does all)
 *
 * Ports (scripts/demo-ports.json; env overrides): EDGECORE_DEMO_API (8080, HTTPS), EDGECORE_DEMO_MQTT
 * (11883, MQTT over TLS), EDGECORE_DEMO_WS (18083, wss), EDGECORE_DEMO_EVENTBUS (11884, the node-local
 * mapper broker); none collides with edgecore's own defaults, so `edgecore check` or a real node can
 * run beside the demo. EDGECORE_DEMO_NODE names the node, EDGECORE_DEMO_DIR moves .edgecore/.
 * The relay makes its own CA on first start (.edgecore/relay/data/pki/ca.crt); the node joins with
 * the CA's pin, as `edgerelay token` prints it.
 *
 * Signals: the relay and the node run in their own process groups, so a Ctrl-C reaches only this
 * script, which forwards exactly one signal to each (the one it got) and waits for both to finish
 * their graceful stop. A second Ctrl-C is forwarded too: the programs then exit at once.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUSYBOX_IMAGE, ensureBusyboxImage } from './busybox-image.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;
const base = env.EDGECORE_DEMO_DIR ?? join(root, '.edgecore');
const ports = JSON.parse(readFileSync(join(root, 'scripts/demo-ports.json'), 'utf8'));
const API = Number(env.EDGECORE_DEMO_API ?? ports.api);
const MQTT = Number(env.EDGECORE_DEMO_MQTT ?? ports.mqtt);
const WS = Number(env.EDGECORE_DEMO_WS ?? ports.ws);
const EVENTBUS = Number(env.EDGECORE_DEMO_EVENTBUS ?? ports.eventbus);
const NODE = env.EDGECORE_DEMO_NODE ?? 'edge-demo';
const say = (s) => process.stdout.write(`\x1b[1m==> ${s}\x1b[0m\n`);

// --- stopping: one forwarded signal per child, then wait for them ---------------------------------
const children = [];
let stopping = false;
let exitCode = 0;
function finish() {
  if (children.every((c) => c.exitCode !== null || c.signalCode !== null)) process.exit(exitCode);
}
function stop(sig, code = 0) {
  if (stopping) {
    // a second Ctrl-C: the programs take it as "exit now"
    say(`${sig} again: telling the programs to exit now`);
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill(sig);
    return;
  }
  stopping = true;
  exitCode = code;
  say(`${sig}: stopping (each program stops gracefully; Ctrl-C again to hurry)`);
  for (const c of [...children].reverse()) if (c.exitCode === null && c.signalCode === null) c.kill(sig);
  finish();
}
// installed before anything starts: a Ctrl-C during the setup still stops what was started
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => stop(sig === 'SIGHUP' ? 'SIGTERM' : sig));
// the children are in their own process groups: never leave them behind, whatever ends this script
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
});

function run(name, args) {
  // detached: own process group, so a terminal's Ctrl-C (sent to the foreground group) reaches
  // only this script, which forwards it once (see stop())
  const c = spawn(process.execPath, [join(root, 'dist', `${name}.js`), ...args], { stdio: ['ignore', 'inherit', 'inherit'], detached: true });
  children.push(c);
  c.on('exit', (code, sig) => {
    if (!stopping) {
      say(`${name} exited (${code ?? sig}); stopping`);
      stop('SIGTERM', 1);
    } else finish();
  });
  return c;
}

// --- setup -------------------------------------------------------------------------------------------
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

// the pod image: a static busybox imported locally (no registry needed)
let podsWork = true;
try {
  ensureBusyboxImage({ log: say });
} catch (e) {
  podsWork = false;
  say(`the pod examples cannot run: ${e.message.split('\n')[0]}`);
  say('devices and configmaps work; pods wait until the image can be built');
}

const server = `https://127.0.0.1:${API}`;
const caFile = join(base, 'relay', 'data', 'pki', 'ca.crt');
/** one HTTPS request trusting the relay's CA (Node's fetch takes no CA) */
function call(method, path, body) {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`${server}${path}`, { method, ca: readFileSync(caFile), headers: { authorization: `Bearer ${admin}` }, timeout: 2000 }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => (res.statusCode < 300 ? resolve(/json/.test(res.headers['content-type'] ?? '') ? JSON.parse(text) : text) : reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`))));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer`)));
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}
async function waitHealthy(child) {
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null || stopping) throw new Error('edgerelay stopped before it was healthy');
    try {
      if (existsSync(caFile) && (await call('GET', '/healthz'))) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

say(`starting edgerelay (API ${server}, MQTT :${MQTT}, WebSocket :${WS})`);
const relay = run('edgerelay', ['run', '--config', relayConfig]);
try {
  await waitHealthy(relay);
} catch {
  if (!stopping) stop('SIGTERM', 1);
  await new Promise(() => {}); // finish() exits once the relay is gone
}

const nodeConfig = join(base, 'node', 'edgecore.yaml');
const nodeText = existsSync(nodeConfig) ? readFileSync(nodeConfig, 'utf8') : '';
const joined = /enabled: true/.test(nodeText) && nodeText.includes(`mqtts://127.0.0.1:${MQTT}`) && nodeText.includes(`port: ${EVENTBUS}`);
if (!joined && !stopping) {
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
  const known = await call('GET', `/api/v1/nodes/${NODE}`).then(
    () => true,
    () => false,
  );
  if (known) execFileSync(process.execPath, [join(root, 'dist/edgerelay.js'), 'node', 'allow-rejoin', NODE, '--config', relayConfig], { stdio: 'inherit' });
  const { token, caHash } = await call('POST', '/edge/v1/tokens', {});
  say(`joining node "${NODE}" with a bootstrap token, pinning the relay's CA (${caHash})`);
  execFileSync(process.execPath, [join(root, 'dist/edgecore.js'), 'join', '--relay', server, '--token', token, '--ca-hash', caHash, '--config', nodeConfig], { stdio: 'inherit' });
}
if (stopping) await new Promise(() => {});
say('starting edgecore');
run('edgecore', ['run', '--config', nodeConfig]);

const ctlConfig = join(base, 'edgectl.yaml');
writeFileSync(ctlConfig, `server: ${server}\ntoken: ${admin}\ncaFile: ${caFile}\n`, { mode: 0o600 });
const kubeconfig = join(base, 'kubeconfig');
writeFileSync(kubeconfig, execFileSync(process.execPath, [join(root, 'dist/edgerelay.js'), 'kubeconfig', '--config', relayConfig], { encoding: 'utf8' }), { mode: 0o600 });
process.stdout.write(`
Relay and node are running (data in ${base}). In another shell, from ${root}
(edgectl finds .edgecore/edgectl.yaml there; elsewhere: export EDGECTL_CONFIG=${ctlConfig}):

  export KUBECONFIG=${kubeconfig}
  kubectl get nodes
  kubectl apply -f ${join(root, 'examples')}/        # the examples are placed on node "edge-demo"
  kubectl get pods -o wide
  kubectl get devices -o wide
  kubectl logs hello -f
  kubectl describe pod hello
  alias edgectl="node ${join(root, 'dist/edgectl.js')}"
  edgectl twin set thermo-1 setpoint=25
${podsWork ? '' : `\n(the pods need ${BUSYBOX_IMAGE}: see the message above)\n`}${kubectlHint()}
The API is HTTPS with the relay's own CA; ${kubeconfig} carries it with the admin token
(kubectl --kubeconfig ${kubeconfig} ...).

Ctrl-C stops both.
`);

/** kubectl is the client of the relay's API; say so when it is not installed */
function kubectlHint() {
  const v = spawnSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8' });
  if (!v.error && v.status === 0) return '';
  return `\n(kubectl is not installed here: any kubectl 1.27-1.33 works against the relay — tested with each;\nDebian 12's kubernetes-client package is 1.20, which is not tested)\n`;
}
