/**
 * The relay's trust boundaries with real clients: kubectl (pinned binary) and
 * @kubernetes/client-node read kubeconfigs from `edgerelay kubeconfig` and verify the relay's
 * CA; the read-only token cannot write or read Secrets; token rotation refuses the old token at
 * once; a node's MQTT password (or a bootstrap token) never opens the API; `edgerelay rotate
 * node` closes the node's session; 2,000 wrong join tokens are rate-limited and audited without
 * the tokens in clear; in plain-HTTP mode kubectl sends no token at all.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import mqtt from 'mqtt';
import { needService } from '../../helpers/service.js';
import { ROOT, tmpDir } from '../../helpers/tmp.js';
import { RelayProc, relayPorts, waitFor } from './harness.js';

const KUBECTL = ['/usr/lib/google-cloud-sdk/bin/kubectl.1.32', '/usr/bin/kubectl'].find((p) => existsSync(p)) ?? 'kubectl';

const edgerelay = (relay: RelayProc, args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/edgerelay/entry.ts'), ...args, '--config', relay.configFile], { cwd: ROOT, encoding: 'utf8' });

async function needKubectl(t: TestContext): Promise<boolean> {
  return needService(t, `kubectl (${KUBECTL})`, async () => {
    const r = spawnSync(KUBECTL, ['version', '--client'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr || String(r.error));
  });
}

function kubeconfig(relay: RelayProc, dir: string, name: string, ...flags: string[]): string {
  const r = edgerelay(relay, ['kubeconfig', ...flags]);
  assert.equal(r.status, 0, r.stderr);
  const f = join(dir, name);
  writeFileSync(f, r.stdout, { mode: 0o600 });
  return f;
}

const kubectl = (file: string, args: string[], input?: string) =>
  spawnSync(KUBECTL, ['--kubeconfig', file, '--cache-dir', join(file + '.cache'), ...args], { encoding: 'utf8', input, timeout: 60_000 });

test('kubeconfigs from edgerelay: kubectl and client-node verify the CA and send the token; read-only cannot write; rotation refuses the old token at once', async (t) => {
  if (!(await needKubectl(t))) return;
  const dir = tmpDir(t, 'edgecore-trust-');
  // generated tokens (not fixed in the config), so they can be rotated
  const relay = new RelayProc({ dir, ports: await relayPorts(), extra: { api: { adminToken: '' } } });
  t.after(() => relay.stop('SIGKILL'));
  await relay.start();
  const admin = kubeconfig(relay, dir, 'admin.kubeconfig');
  const ro = kubeconfig(relay, dir, 'ro.kubeconfig', '--read-only');

  // kubectl with nothing but the kubeconfig: HTTPS, the relay CA verified, the token sent
  const created = kubectl(admin, ['create', 'configmap', 'c1', '--from-literal=k=v']);
  assert.equal(created.status, 0, created.stderr);
  assert.equal(created.stdout, 'configmap/c1 created\n');
  assert.equal(kubectl(admin, ['create', 'secret', 'generic', 's1', '--from-literal=k=v']).status, 0);
  const joinCmd = kubectl(admin, ['create', '--raw', '/edge/v1/tokens', '-f', '-'], '{}');
  assert.equal(joinCmd.status, 0, joinCmd.stderr);
  assert.match(joinCmd.stdout, /"joinCommand":"edgecore join --relay https:\/\/127\.0\.0\.1:\d+ --token ect\.\S+ --ca-hash sha256:[0-9a-f]{64}"/);

  // read-only: reads, but never writes and never Secrets
  const roGet = kubectl(ro, ['get', 'configmaps', '-o', 'name']);
  assert.equal(roGet.status, 0, roGet.stderr);
  assert.match(roGet.stdout, /^configmap\/c1$/m);
  const roWrite = kubectl(ro, ['create', 'configmap', 'c2', '--from-literal=k=v']);
  assert.equal(roWrite.status, 1);
  assert.match(roWrite.stderr, /configmaps is forbidden: User "read-only" cannot create resource "configmaps"/);
  const roSecret = kubectl(ro, ['get', 'secret', 's1']);
  assert.equal(roSecret.status, 1);
  assert.match(roSecret.stderr, /Forbidden/);
  const roToken = kubectl(ro, ['create', '--raw', '/edge/v1/tokens', '-f', '-'], '{}');
  assert.equal(roToken.status, 1);
  assert.match(roToken.stderr, /Error from server \(Forbidden\).*User "read-only" cannot create resource "tokens"/);

  // a kubeconfig whose CA is another one: kubectl refuses the relay
  const other = new RelayProc({ dir: tmpDir(t, 'edgecore-trust-other-'), ports: await relayPorts() });
  t.after(() => other.stop('SIGKILL'));
  await other.start();
  const wrongCa = join(dir, 'wrong-ca.kubeconfig');
  writeFileSync(wrongCa, readFileSync(admin, 'utf8').replace(/certificate-authority-data: \S+/, `certificate-authority-data: ${Buffer.from(other.caPem).toString('base64')}`));
  const x509 = kubectl(wrongCa, ['get', 'configmaps']);
  assert.equal(x509.status, 1);
  assert.match(x509.stderr, /x509: certificate signed by unknown authority/);

  // @kubernetes/client-node with the same kubeconfig
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromString(readFileSync(admin, 'utf8'));
  const list = await kc.makeApiClient(k8s.CoreV1Api).listNamespacedConfigMap({ namespace: 'default' });
  assert.ok(list.items.some((c) => c.metadata?.name === 'c1'), 'client-node listed over TLS with the CA and the token');
  const roKc = new k8s.KubeConfig();
  roKc.loadFromString(readFileSync(ro, 'utf8'));
  await assert.rejects(roKc.makeApiClient(k8s.CoreV1Api).readNamespacedSecret({ namespace: 'default', name: 's1' }), (e: { code?: number }) => e.code === 403);

  // rotation: the old token is refused from the next request on, by the running relay
  const rotated = edgerelay(relay, ['rotate', 'admin-token']);
  assert.equal(rotated.status, 0, rotated.stderr);
  const old = kubectl(admin, ['get', 'configmaps']);
  assert.equal(old.status, 1);
  assert.match(old.stderr, /You must be logged in to the server|Unauthorized/);
  const fresh = kubeconfig(relay, dir, 'admin2.kubeconfig');
  assert.equal(kubectl(fresh, ['get', 'configmaps']).status, 0);
  assert.equal(kubectl(ro, ['get', 'configmaps']).status, 0, 'the read-only token is untouched');
  assert.match(edgerelay(relay, ['rotate', 'read-only-token']).stdout, /read-only-token rotated/);
  assert.equal(kubectl(ro, ['get', 'configmaps']).status, 1);
});

test('a node MQTT password, Basic auth or a bootstrap token never open the API; rotate node closes its session', async (t) => {
  const dir = tmpDir(t, 'edgecore-trust-node-');
  const relay = new RelayProc({ dir, ports: await relayPorts() });
  t.after(() => relay.stop('SIGKILL'));
  await relay.start();
  const j = await relay.join('n-1');
  const bootstrap = await relay.token();
  const f = relay.fetch();
  for (const authorization of [`Bearer ${j.password}`, `Basic ${Buffer.from(`n-1:${j.password}`).toString('base64')}`, `Bearer ${bootstrap}`, `Bearer n-1:${j.password}`, '']) {
    const res = await f(`${relay.api}/api/v1/namespaces/default/configmaps`, { headers: authorization ? { authorization } : {} });
    assert.equal(res.status, 401, `refused: ${authorization.split(' ')[0] || 'no header'}`);
    const tok = await f(`${relay.api}/edge/v1/tokens`, { method: 'POST', headers: authorization ? { authorization } : {}, body: '{}' });
    assert.equal(tok.status, 401);
  }

  // the node's session, then `edgerelay rotate node`: closed by the running relay, old password refused
  const connect = (password: string) => mqtt.connectAsync(j.brokerUrl, { clientId: 'n-1', username: 'n-1', password, ca: relay.caPem, reconnectPeriod: 0, connectTimeout: 5000 });
  const live = await connect(j.password);
  const closed = new Promise<void>((r) => live.once('close', () => r()));
  const rotated = edgerelay(relay, ['rotate', 'node', 'n-1']);
  assert.equal(rotated.status, 0, rotated.stderr);
  assert.match(rotated.stdout, /node "n-1": MQTT credentials revoked/);
  await closed;
  await assert.rejects(connect(j.password), /Bad username or password/i);
  // and a re-join is allowed (once) by the rotation
  const res = await f(`${relay.api}/edge/v1/join`, { method: 'POST', body: JSON.stringify({ token: bootstrap, node: 'n-1' }) });
  assert.equal(res.status, 200);
  const again = (await res.json()) as { password: string };
  await (await connect(again.password)).endAsync();
  assert.equal(edgerelay(relay, ['rotate', 'node', 'nobody']).status, 1);
});

test('2,000 wrong join tokens from one address: rate-limited, each attempt audited, no token in clear; another address still joins', async (t) => {
  const dir = tmpDir(t, 'edgecore-trust-join-');
  // no credit comes back during the run: the counts do not depend on how fast it goes
  const relay = new RelayProc({ dir, ports: await relayPorts(), extra: { nodes: { joinAttempts: { burst: 10, refillSeconds: 3600 } } } });
  t.after(() => relay.stop('SIGKILL'));
  await relay.start();
  const ca = relay.caPem;
  const port = relay.o.ports.api;
  const post = (body: unknown, localAddress = '127.0.0.1') =>
    new Promise<number>((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port, path: '/edge/v1/join', method: 'POST', ca, localAddress, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  const N = 2000;
  const codes: number[] = [];
  const marker = 'ect.guess-';
  for (let i = 0; i < N; i += 50) {
    codes.push(...(await Promise.all(Array.from({ length: 50 }, (_, k) => post({ token: `${marker}${i + k}`, node: `x-${i + k}` })))));
  }
  const count = (c: number): number => codes.filter((x) => x === c).length;
  assert.equal(count(401) + count(429), N);
  assert.equal(count(401), 10, 'ten wrong tokens are answered, then the address is limited');
  const good = await relay.token();
  assert.equal(await post({ token: good, node: 'real-1' }), 429, 'while limited, even a valid token is refused: guessing gains nothing');
  assert.equal(await post({ token: good, node: 'real-2' }, '127.0.0.2'), 200, 'another address is not affected');

  const records = await waitFor('every attempt audited', () => {
    const r = relay.proc!.lines.filter((l) => l.includes('"msg":"join attempt"')).map((l) => JSON.parse(l) as { source: string; node: string | null; token: string | null; outcome: string; code: number });
    return r.length >= N + 2 ? r : undefined;
  });
  assert.equal(records.filter((r) => r.outcome === 'Unauthorized' && r.source === '127.0.0.1').length, 10);
  assert.equal(records.filter((r) => r.outcome === 'rate-limited').length, N - 10 + 1);
  assert.ok(records.filter((r) => r.outcome === 'Unauthorized').every((r) => /^sha256:[0-9a-f]{8}$/.test(r.token ?? '') && r.node?.startsWith('x-')));
  assert.deepEqual(records.at(-1), { ...records.at(-1), source: '127.0.0.2', node: 'real-2', outcome: 'joined', code: 200 });
  assert.ok(!relay.proc!.lines.some((l) => l.includes(marker)), 'no wrong token appears in clear');
});

test('plain-HTTP mode (explicit): kubectl sends no token over http, client-node refuses http', async (t) => {
  if (!(await needKubectl(t))) return;
  const dir = tmpDir(t, 'edgecore-trust-plain-');
  const relay = new RelayProc({ dir, ports: await relayPorts(), plaintext: true });
  t.after(() => relay.stop('SIGKILL'));
  await relay.start();
  assert.ok(relay.proc!.lines.some((l) => l.includes('the API serves plain HTTP')), 'the relay warns');
  const kc = kubeconfig(relay, dir, 'plain.kubeconfig');
  assert.match(readFileSync(kc, 'utf8'), /server: http:\/\/127\.0\.0\.1:\d+/);
  // the token is right, but kubectl does not send it over plain HTTP: 401
  const r = kubectl(kc, ['get', 'configmaps']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /You must be logged in to the server|Unauthorized/);
  const k8s = await import('@kubernetes/client-node');
  const c = new k8s.KubeConfig();
  c.loadFromString(readFileSync(kc, 'utf8'));
  await assert.rejects(c.makeApiClient(k8s.CoreV1Api).listNode(), /HTTP protocol is not allowed/);
});
