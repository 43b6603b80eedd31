/**
 * Probes: one probe against real local HTTP/TCP servers (exec through a stand-in function), and the
 * probe workers' thresholds and ordering on node's mock timers.
 */
import assert from 'node:assert/strict';
import { createServer as httpServer, type IncomingHttpHeaders } from 'node:http';
import { createServer as tcpServer, type AddressInfo, type Server } from 'node:net';
import { test, type TestContext } from 'node:test';
import { parsePod, type Probe } from '../../../src/contract/resources/pod.js';
import { nullLogger } from '../../../src/core/logger.js';
import type { PodEvent } from '../../../src/modules/edged/events.js';
import { ProbeManager, probeOnce, runProbe, type ProbeTarget } from '../../../src/modules/edged/probes.js';

/** A probe with the schema's defaults filled in. */
function probe(p: Record<string, unknown>): Probe {
  return parsePod({ metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'i', livenessProbe: p }] } }).spec.containers[0]!.livenessProbe!;
}

async function listen(t: TestContext, s: Server): Promise<number> {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => s.close(() => r())));
  return (s.address() as AddressInfo).port;
}

const target = (extra: Partial<ProbeTarget> = {}): ProbeTarget => ({ id: 'c1', container: 'a', host: '127.0.0.1', ports: {}, ...extra });
const noExec = async () => ({ exitCode: 1 });

test('httpGet: 2xx/3xx pass, others fail; named ports and headers are used', async (t) => {
  let seen: IncomingHttpHeaders = {};
  const srv = httpServer((req, res) => {
    seen = req.headers;
    res.statusCode = req.url === '/ok' ? 200 : req.url === '/moved' ? 302 : 500;
    res.end();
  });
  const port = await listen(t, srv);
  assert.equal(await runProbe(probe({ httpGet: { path: '/ok', port } }), target(), noExec), true);
  assert.equal(await runProbe(probe({ httpGet: { path: '/moved', port } }), target(), noExec), true);
  assert.equal(await runProbe(probe({ httpGet: { path: '/broken', port } }), target(), noExec), false);
  const named = probe({ httpGet: { path: '/ok', port: 'web', httpHeaders: [{ name: 'X-Probe', value: 'yes' }] } });
  assert.equal(await runProbe(named, target({ ports: { web: port } }), noExec), true);
  assert.equal(seen['x-probe'], 'yes');
  assert.equal(await runProbe(named, target(), noExec), false, 'an unknown port name fails');
});

test('tcpSocket: an open port passes, a closed one fails', async (t) => {
  const port = await listen(t, tcpServer((s) => s.end()));
  assert.equal(await runProbe(probe({ tcpSocket: { port } }), target(), noExec), true);
  const closed = tcpServer();
  const gone = await listen(t, closed);
  await new Promise<void>((r) => closed.close(() => r()));
  assert.equal(await runProbe(probe({ tcpSocket: { port: gone } }), target(), noExec), false);
});

test('exec: exit 0 passes; the command, container and timeout are passed on; a throw fails', async () => {
  const calls: unknown[] = [];
  const p = probe({ exec: { command: ['cat', '/ready'] }, timeoutSeconds: 2 });
  assert.equal(await runProbe(p, target(), async (...a) => (calls.push(a), { exitCode: 0 })), true);
  assert.deepEqual(calls, [['c1', ['cat', '/ready'], 2000]]);
  assert.equal(await runProbe(p, target(), async () => ({ exitCode: 1 })), false);
  assert.equal(await runProbe(p, target(), async () => Promise.reject(new Error('container gone'))), false);
});

/** ProbeManager with scripted exec results per probe command, on mock timers. */
function manager(t: TestContext, results: Record<string, boolean[]>) {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const calls: string[] = [];
  let changes = 0;
  const exec = async (_id: string, cmd: string[]) => {
    const k = cmd[0]!;
    calls.push(k);
    const next = results[k]?.shift();
    return next === false ? { exitCode: 1, output: `${k} said no\n` } : { exitCode: 0 };
  };
  const told: PodEvent[] = [];
  const m = new ProbeManager(exec, () => changes++, nullLogger(), (_pod, e) => told.push(e));
  t.after(() => m.stopAll());
  const tick = async (ms: number): Promise<void> => {
    for (let i = 0; i < ms / 1000; i++) {
      t.mock.timers.tick(1000);
      for (let j = 0; j < 5; j++) await new Promise((r) => setImmediate(r));
    }
  };
  return { m, calls, tick, told, changes: () => changes };
}

test('startup runs first; liveness and readiness only after it passes', async (t) => {
  const s = manager(t, { startup: [false, false, true] });
  s.m.sync([target({ startup: probe({ exec: { command: ['startup'] }, periodSeconds: 1, failureThreshold: 5 }), liveness: probe({ exec: { command: ['live'] }, periodSeconds: 1 }), readiness: probe({ exec: { command: ['ready'] }, periodSeconds: 1 }) })]);
  assert.deepEqual(s.m.facts().get('c1'), { started: false, ready: false });
  await s.tick(2000);
  assert.deepEqual(s.calls, ['startup', 'startup']);
  await s.tick(1000);
  assert.equal(s.m.facts().get('c1')!.started, true);
  await s.tick(1000);
  assert.deepEqual(s.calls.slice(3).sort(), ['live', 'ready']);
  assert.equal(s.m.facts().get('c1')!.ready, true);
});

test('liveness failing failureThreshold times marks the container unhealthy and stops probing it', async (t) => {
  const s = manager(t, { live: [false, true, false, false, false] });
  s.m.sync([target({ liveness: probe({ exec: { command: ['live'] }, periodSeconds: 1, failureThreshold: 3, initialDelaySeconds: 2 }) })]);
  await s.tick(2000);
  assert.deepEqual(s.calls, ['live'], 'the first run waits for initialDelaySeconds');
  await s.tick(3000);
  assert.equal(s.m.facts().get('c1')!.unhealthy, undefined, 'a success resets the count');
  await s.tick(1000);
  assert.equal(s.m.facts().get('c1')!.unhealthy, true);
  assert.equal(s.changes(), 1);
  await s.tick(5000);
  assert.equal(s.calls.length, 5, 'no probing after the verdict');
});

test('readiness honours successThreshold and failureThreshold and reports only changes', async (t) => {
  const s = manager(t, { ready: [true, true, false, true, false, false] });
  s.m.sync([target({ readiness: probe({ exec: { command: ['ready'] }, periodSeconds: 1, successThreshold: 2, failureThreshold: 2 }) })]);
  await s.tick(1000);
  assert.equal(s.m.facts().get('c1')!.ready, false);
  await s.tick(1000);
  assert.equal(s.m.facts().get('c1')!.ready, true);
  await s.tick(2000);
  assert.equal(s.m.facts().get('c1')!.ready, true, 'one failure is below the threshold');
  await s.tick(2000);
  assert.equal(s.m.facts().get('c1')!.ready, false);
  assert.equal(s.changes(), 2);
});

test('sync: containers no longer listed stop being probed; targets without probes get no worker', async (t) => {
  const s = manager(t, {});
  s.m.sync([target({ liveness: probe({ exec: { command: ['live'] }, periodSeconds: 1 }) }), target({ id: 'c2' })]);
  assert.deepEqual([...s.m.facts().keys()], ['c1']);
  await s.tick(1000);
  s.m.sync([]);
  await s.tick(3000);
  assert.deepEqual(s.calls, ['live']);
  assert.equal(s.m.facts().size, 0);
});

test('a failed probe says why, as the kubelet words it (the Unhealthy event\'s message)', async (t) => {
  const srv = httpServer((_req, res) => {
    res.statusCode = 503;
    res.end();
  });
  const port = await listen(t, srv);
  assert.deepEqual(await probeOnce(probe({ httpGet: { path: '/', port } }), target(), noExec), { ok: false, output: 'HTTP probe failed with statuscode: 503' });
  const closed = tcpServer();
  const gone = await listen(t, closed);
  await new Promise<void>((r) => closed.close(() => r()));
  assert.match((await probeOnce(probe({ tcpSocket: { port: gone } }), target(), noExec)).output, new RegExp(`^dial tcp 127\\.0\\.0\\.1:${gone}: connect ECONNREFUSED`));
  assert.match((await probeOnce(probe({ httpGet: { path: '/x', port: gone } }), target(), noExec)).output, new RegExp(`^Get "http://127\\.0\\.0\\.1:${gone}/x": connect ECONNREFUSED`));
  const cat = probe({ exec: { command: ['cat', '/ready'] } });
  assert.deepEqual(await probeOnce(cat, target(), async () => ({ exitCode: 1, output: 'cat: /ready: No such file or directory\n' })), { ok: false, output: 'cat: /ready: No such file or directory' });
  assert.deepEqual(await probeOnce(cat, target(), async () => ({ exitCode: 2 })), { ok: false, output: 'command "cat /ready" exited with 2' });
  assert.deepEqual(await probeOnce(cat, target(), async () => ({ exitCode: -1 })), { ok: false, output: 'command "cat /ready" timed out' });
});

test('every failed probe of a pod\'s container is told as Unhealthy; the verdict names the probe that gave it', async (t) => {
  const s = manager(t, { live: [false, false, false] });
  s.m.sync([target({ pod: { namespace: 'default', name: 'web', uid: 'u1' }, liveness: probe({ exec: { command: ['live'] }, periodSeconds: 1, failureThreshold: 3 }) })]);
  await s.tick(3000);
  assert.deepEqual(s.m.facts().get('c1'), { started: true, unhealthy: true, unhealthyBy: 'liveness' });
  assert.equal(s.told.length, 3);
  assert.deepEqual(s.told[0], { type: 'Warning', reason: 'Unhealthy', message: 'Liveness probe failed: live said no', fieldPath: 'spec.containers{a}' });
});
