/**
 * Fleet mode's broker (issue 19, docs/scale.md): a 3-member NATS cluster (JetStream's MQTT, from
 * Debian's nats-server) on loopback, the relay on it with the members' list (MQTT 3.1.1), and a real
 * edgecore that joined through the relay and was handed the list. The member the node is on is
 * killed (SIGKILL): the node moves to another member, a desired change made meanwhile arrives, and
 * reports queued meanwhile reach the relay once each, in order.
 *
 * `fleet()` starts the cluster and the relays: a second relay (and PostgreSQL) is one more entry.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { topics } from '../../../src/contract/topics.js';
import { openNodeStore } from '../../../src/store/store.js';
import { type BrokerCluster, startBrokerCluster } from '../../helpers/broker-cluster.js';
import { needService } from '../../helpers/service.js';
import { tmpDir } from '../../helpers/tmp.js';
import { haveKubectl, NodeProc, type Proc, RelayProc, nodeReady, relayPorts, waitFor } from './harness.js';
import { cmYaml, consumerYaml } from './world.js';

interface Fleet {
  dir: string;
  cluster: BrokerCluster;
  relays: RelayProc[];
  /** stop this when the test ends, before the folder is removed (processes write into it until they stop) */
  stopFirst(fn: () => Promise<unknown>): void;
}

/** a NATS cluster of 3 and `relays` relays in external mode on it (each its own dataDir and ports) */
async function fleet(t: TestContext, relays = 1): Promise<Fleet | undefined> {
  if (!(await needService(t, 'kubectl 1.32', haveKubectl))) return undefined;
  if (!(await needService(t, 'nats-server', async () => execFileSync('nats-server', ['--version'])))) return undefined;
  // after-hooks run in the order they were added: this one, which stops every process (the last
  // started first), runs before tmpDir's removal — NATS members write into their folders until they stop
  const stops: (() => Promise<unknown>)[] = [];
  t.after(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  });
  const stopFirst = (fn: () => Promise<unknown>): void => void stops.push(fn);
  const dir = tmpDir(t, 'edgecore-fleet-');
  const cluster = await startBrokerCluster('nats', join(dir, 'nats'), 3);
  stopFirst(() => cluster.stop());
  const [url, ...urls] = cluster.urls;
  const rs: RelayProc[] = [];
  for (let i = 0; i < relays; i++) {
    const rdir = join(dir, `relay-${i}`);
    mkdirSync(rdir);
    const r = new RelayProc({
      dir: rdir,
      ports: await relayPorts(),
      // NATS 2.9's MQTT is 3.1.1 and, here, without TLS or accounts: nodes are told plain URLs on purpose
      extra: { broker: { mode: 'external', plaintext: true, external: { url, urls, protocolVersion: 4 } } },
    });
    stopFirst(() => r.stop('SIGKILL'));
    await r.start();
    await r.proc!.record('connected to external broker', 120_000);
    rs.push(r);
  }
  return { dir, cluster, relays: rs, stopFirst };
}

/** every JSON log record with this msg, in order */
function records(p: Proc | undefined, msg: string): Record<string, unknown>[] {
  return (p?.lines ?? []).filter((l) => l.includes(`"msg":"${msg}"`)).map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('a node moves to another broker member when its member dies: a desired change made meanwhile arrives, reports sent meanwhile arrive once, in order', async (t) => {
  const f = await fleet(t);
  if (!f) return;
  const relay = f.relays[0]!;
  const dir = join(f.dir, 'nodes');
  mkdirSync(dir);
  const j = await relay.join('n1');
  assert.deepEqual([j.brokerUrl, ...(j.brokerUrls ?? [])], f.cluster.urls, 'the join hands out every member');
  const n1 = new NodeProc({ dir, name: 'n1', join: j, devicetwin: false });
  f.stopFirst(() => n1.stop('SIGKILL'));
  await n1.start();

  assert.equal(relay.apply(cmYaml('cm-a', '1') + '---\n' + consumerYaml('consumer', 'n1', ['cm-a'])).code, 0);
  await waitFor('cm-a v1 on the node', () => n1.resources('ConfigMap').some((r) => JSON.parse(r.spec).data.v === '1'), 120_000);
  await waitFor('n1 Ready', () => nodeReady(relay, 'n1') === 'True', 120_000);
  const before = records(n1.proc, 'connected to relay');
  const on = String(before.at(-1)!.url);
  const victim = f.cluster.urls.indexOf(on);
  assert.ok(victim >= 0, `the node is on a member (${on})`);

  await f.cluster.kill(victim);
  // meanwhile: the desired state changes, and the node queues a numbered series of reports
  assert.equal(relay.apply(cmYaml('cm-a', '2')).code, 0);
  const store = openNodeStore(n1.dbFile);
  for (let i = 0; i < 100; i++) {
    store.outbox.enqueueTelemetry(topics.reportedTelemetry('n1'), JSON.stringify({ kind: 'Test', namespace: '', name: 'probe', event: 'test.sample', data: { i }, desiredVersion: 0, timestamp: Date.now() }));
  }
  store.close();

  const moved = await waitFor('the node connected to another member', () => records(n1.proc, 'connected to relay').slice(before.length).find((r) => r.url !== on), 120_000);
  assert.ok(f.cluster.urls.includes(String(moved.url)));
  await waitFor('cm-a v2 on the node', () => n1.resources('ConfigMap').some((r) => JSON.parse(r.spec).data.v === '2'), 120_000);
  let got = 0;
  const samples = await waitFor('every queued report at the relay', async () => {
    const rows = (await relay.telemetry('n1')).filter((r) => r.data.i !== undefined);
    got = rows.length;
    return rows.length >= 100 ? rows : undefined;
  }, 120_000).catch((e: Error) => {
    throw new Error(`${e.message} (relay has ${got}, node outbox ${n1.outboxRows()})\n${relay.proc?.lines.slice(-15).join('\n')}\n${n1.proc?.lines.slice(-15).join('\n')}`);
  });
  assert.deepEqual(samples.map((r) => r.data.i), [...Array(100).keys()], 'in order, none missing, none duplicated');
  await waitFor('the outbox drained', () => n1.outboxRows() === 0, 60_000);
  // nothing more arrives later (a late duplicate would show here)
  await waitFor('n1 Ready again', () => nodeReady(relay, 'n1') === 'True', 120_000);
  assert.equal((await relay.telemetry('n1')).filter((r) => r.data.i !== undefined).length, 100);
});
