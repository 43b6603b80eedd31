/**
 * The relay fleet through failures (issue 19, docs/scale.md), all on loopback: two relay replicas
 * on a PostgreSQL server of the test's own, a 3-member NATS cluster (JetStream's MQTT), and two
 * real edgecore nodes that joined through one replica each. The controllers' leader is killed right
 * after a Deployment was scaled up (and started again later), then the broker member a node is on,
 * then PostgreSQL is stopped and started again, the nodes reporting while it is down; meanwhile
 * ConfigMaps change and the nodes queue numbered reports.
 * Then, counted, not timed:
 * - desired: each node holds exactly the newest document version the replicas published for it,
 *   with its ConfigMap's last value, and applied no version twice or after a newer one;
 * - reported: each node's numbered Events are in the shared store once each (count 1), in the
 *   order sent; its numbered telemetry samples are in each replica's log once each;
 * - controllers: the Deployment ends with exactly its replicas, one ReplicaSet, and a watch of its
 *   pods replayed from the namespace's creation shows exactly as many pods created as the largest
 *   scale and exactly as many deleted as the scale-down removed.
 * The PostgreSQL server is the test's own (initdb/pg_ctl in a temp folder): restarting the
 * machine's cluster would cut other test runs beside this one.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { OBJECT_EVENT } from '../../../src/contract/payloads.js';
import { topics } from '../../../src/contract/topics.js';
import { openNodeStore } from '../../../src/store/store.js';
import { startBrokerCluster } from '../../helpers/broker-cluster.js';
import { postgresBin, startPrivatePostgres } from '../../helpers/pg-private.js';
import { needService } from '../../helpers/service.js';
import { tmpDir } from '../../helpers/tmp.js';
import { ADMIN, haveKubectl, NodeProc, nodeReady, type Proc, type RelayProc, startFleetRelays, waitFor } from './harness.js';
import { cmYaml, consumerYaml, webDeploymentYaml } from './world.js';

const T = 180_000;

interface Meta {
  name: string;
  uid: string;
  resourceVersion: string;
  generation?: number;
  ownerReferences?: { kind: string; uid: string; controller?: boolean }[];
}
interface Obj {
  metadata: Meta;
  status?: { replicas?: number; observedGeneration?: number };
  spec?: { holderIdentity?: string };
}
interface KubeEvent extends Obj {
  reason: string;
  message: string;
  count: number;
  involvedObject: { kind: string; name: string };
}

/** every JSON log record of a process with this msg, in order */
function records(p: Proc | undefined, msg: string): Record<string, unknown>[] {
  return (p?.lines ?? []).filter((l) => l.includes(`"msg":"${msg}"`)).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Queue reports `from`..`to`-1 in a node's outbox (as its modules would): an Event about its Node and a telemetry sample each. */
function queueReports(n: NodeProc, from: number, to: number): void {
  const store = openNodeStore(n.dbFile);
  const node = n.o.name;
  try {
    for (let i = from; i < to; i++) {
      const base = { kind: 'Node', namespace: '', name: node, desiredVersion: 0, timestamp: Date.now() };
      store.outbox.enqueueTelemetry(topics.reportedTelemetry(node), JSON.stringify({ ...base, event: OBJECT_EVENT, data: { type: 'Normal', reason: 'Probe', message: `probe ${node} ${i}` } }));
      store.outbox.enqueueTelemetry(topics.reportedTelemetry(node), JSON.stringify({ ...base, event: 'test.sample', data: { i } }));
    }
  } finally {
    store.close();
  }
}


/** Replay a watch from `fromRv` until `until` says stop (the events so far); then abort it. */
async function replayWatch(r: RelayProc, path: string, fromRv: string, until: (events: { type: string; object: Obj }[]) => boolean): Promise<{ type: string; object: Obj }[]> {
  const ac = new AbortController();
  const res = await r.fetch()(`${r.api}${path}?watch=1&resourceVersion=${fromRv}`, { headers: { authorization: `Bearer ${ADMIN}` }, signal: ac.signal });
  assert.equal(res.status, 200);
  const events: { type: string; object: Obj }[] = [];
  const reader = res.body!.getReader();
  const timer = setTimeout(() => ac.abort(), 60_000);
  let buf = '';
  try {
    while (!until(events)) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += Buffer.from(value).toString('utf8');
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        if (buf.slice(0, i).trim()) events.push(JSON.parse(buf.slice(0, i)) as { type: string; object: Obj });
        buf = buf.slice(i + 1);
      }
    }
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  return events;
}

test('a relay fleet through a relay kill, a broker member kill and a PostgreSQL restart: no desired change or report lost or doubled, no controller acts twice', async (t) => {
  if (!(await needService(t, 'kubectl 1.32', haveKubectl))) return;
  if (!(await needService(t, 'nats-server', async () => execFileSync('nats-server', ['--version'])))) return;
  if (!(await needService(t, 'PostgreSQL server binaries', async () => postgresBin() ?? Promise.reject(new Error('no /usr/lib/postgresql/*/bin/initdb'))))) return;
  // one teardown, in reverse order of start, before the temp folders go (after-hooks run first-in, first-out)
  const closers: (() => Promise<unknown>)[] = [];
  t.after(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  });
  const pg = await startPrivatePostgres(tmpDir(t, 'edgecore-failover-pg-'));
  closers.push(() => pg.stop());
  const dir = tmpDir(t, 'edgecore-failover-');
  const nats = await startBrokerCluster('nats', join(dir, 'nats'), 3);
  closers.push(() => nats.stop());
  const [url, ...urls] = nats.urls;
  const relays = await startFleetRelays(t, { url: pg.url, closeFirst: (fn) => void closers.push(fn) }, {
    prefix: 'edgecore-failover-relay-',
    // NATS 2.9's MQTT is 3.1.1 and, here, without TLS or accounts: nodes are told plain URLs on purpose
    extra: (name) => ({ broker: { mode: 'external', plaintext: true, external: { url, urls, protocolVersion: 4, clientId: `_relay-${name}` } } }),
  });
  for (const r of relays) await r.proc!.record('connected to external broker', T);
  const [one, two] = relays as [RelayProc, RelayProc];
  const holder = async (r: RelayProc): Promise<string | undefined> => (await r.http<Obj>('GET', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/edgerelay-controllers').catch(() => undefined))?.spec?.holderIdentity;
  await waitFor('a controllers leader', async () => (await holder(two))?.startsWith('relay-'), T);

  // two nodes, joined through one replica each, each with a ConfigMap a pod of its own uses
  const names = [`fa-${process.pid}`, `fb-${process.pid}`];
  const ndir = join(dir, 'nodes');
  mkdirSync(ndir);
  const nodes: NodeProc[] = [];
  for (const [i, name] of names.entries()) {
    const n = new NodeProc({ dir: ndir, name, join: await relays[i]!.join(name), devicetwin: false, nodestatus: { periodSeconds: 2 } });
    closers.push(() => n.stop('SIGKILL'));
    await n.start();
    nodes.push(n);
  }
  const setConfig = async (v: string): Promise<void> => {
    const yaml = names.map((n) => cmYaml(`cfg-${n}`, v)).join('---\n');
    // through whichever replica answers (one may be dead, the database restarting)
    await waitFor(`ConfigMaps at v${v}`, () => [two, one].some((r) => r.proc && r.apply(yaml).code === 0), T, 500);
  };
  await setConfig('1');
  assert.equal(two.apply(names.map((n) => consumerYaml(`use-${n}`, n, [`cfg-${n}`])).join('---\n')).code, 0);
  const value = (n: NodeProc): string | undefined => {
    const r = n.resources('ConfigMap').find((c) => c.name === `cfg-${n.o.name}`);
    return r ? (JSON.parse(r.spec) as { data: { v: string } }).data.v : undefined;
  };
  for (const n of nodes) await waitFor(`${n.o.name} has v1`, () => value(n) === '1', T);
  for (const name of names) await waitFor(`${name} Ready`, () => nodeReady(two, name) === 'True', T);

  const ns = `failover-${process.pid}`;
  assert.equal(two.kubectl(['create', 'namespace', ns]).code, 0);
  const nsRv = two.getJson<Obj>('namespace', ns)!.metadata.resourceVersion;
  assert.equal(two.apply(webDeploymentYaml(ns, ['nodeSelector: {fleet-test: nowhere}'])).code, 0);
  const pods = async (r: RelayProc): Promise<Obj[]> => (await r.http<{ items: Obj[] }>('GET', `/api/v1/namespaces/${ns}/pods`)).items;
  // the store's revision at each step (a failure message places the pod changes among them)
  const steps: string[] = [];
  const step = async (what: string, r: RelayProc): Promise<void> => void steps.push(`${what}@${(await r.http<{ metadata: { resourceVersion: string } }>('GET', `/api/v1/namespaces/${ns}/pods`).catch(() => ({ metadata: { resourceVersion: '?' } }))).metadata.resourceVersion}`);
  await waitFor('2 pods', async () => (await pods(two)).length === 2, T);

  // 1. the leader dies while its ReplicaSet controller makes the pods of a scale-up
  const leaderName = await holder(two);
  const [leader, follower] = (leaderName === 'relay-one' ? [one, two] : [two, one]) as [RelayProc, RelayProc];
  for (const n of nodes) queueReports(n, 0, 20);
  assert.equal(follower.kubectl(['scale', 'deployment', 'web', '-n', ns, '--replicas=30']).code, 0);
  await waitFor('the leader starts on the scale-up', async () => (await pods(follower)).length > 2, T, 10);
  await step('leader killed', follower);
  await leader.stop('SIGKILL');
  await setConfig('2');
  await waitFor('the other replica leads', async () => (await holder(follower)) === `relay-${follower === one ? 'one' : 'two'}`, T);
  await step('new leader', follower);
  await waitFor('30 pods', async () => (await pods(follower)).length === 30, T);
  await step('30 pods', follower);
  await leader.start();
  // all of its start (its informers' lists included), before the next failure: a relay that cannot
  // reach PostgreSQL while it starts exits for systemd to start it again, and this harness does not
  await leader.proc!.record('edgerelay ready', T);

  // 2. the broker member the first node is on dies
  const on = String(records(nodes[0]!.proc, 'connected to relay').at(-1)!.url);
  const member = nats.urls.indexOf(on);
  assert.ok(member >= 0, `the node is on a member (${on})`);
  const before = records(nodes[0]!.proc, 'connected to relay').length;
  for (const n of nodes) queueReports(n, 20, 40);
  await nats.kill(member);
  await setConfig('3');
  await waitFor('the node moved to another member', () => records(nodes[0]!.proc, 'connected to relay').slice(before).some((r) => r.url !== on), T);

  // 3. PostgreSQL restarts (every connection of both replicas cut) right after a scale-down, and
  // the nodes report while it is down: their reports are with the broker before it is back
  assert.equal(follower.kubectl(['scale', 'deployment', 'web', '-n', ns, '--replicas=7']).code, 0);
  await step('PostgreSQL restart', follower);
  await pg.halt();
  for (const n of nodes) queueReports(n, 40, 60);
  for (const n of nodes) await waitFor(`${n.o.name}'s reports taken by the broker`, () => n.outboxRows() === 0, T);
  await pg.start();
  await setConfig('4');

  // desired: the newest version either replica published, applied once, in order
  for (const n of nodes) {
    const name = n.o.name;
    const published = async (): Promise<number> => Math.max(...(await Promise.all(relays.map(async (r) => (await r.http<{ nodes: Record<string, number> }>('GET', '/edge/v1/desired')).nodes[name] ?? 0))));
    await waitFor(`${name} holds v4 and the newest published version`, async () => value(n) === '4' && n.appliedVersion() === (await published()) && n.outboxRows() === 0, T, 250);
    const applied = records(n.proc, 'desired document applied').map((r) => Number(r.version));
    assert.deepEqual(applied, [...applied].sort((a, b) => a - b), `${name}: versions applied in order`);
    assert.equal(new Set(applied).size, applied.length, `${name}: no version applied twice`);
    await waitFor(`${name} Ready on the restarted replica too`, () => nodeReady(one, name) === 'True', T);
  }
  // reported: the Events in the shared store once each, in order; the samples in each replica's log likewise
  const want = (name: string): string[] => Array.from({ length: 60 }, (_, i) => `probe ${name} ${i}`);
  for (const name of names) {
    const probes = async (): Promise<KubeEvent[]> =>
      (await two.http<{ items: KubeEvent[] }>('GET', '/api/v1/namespaces/default/events')).items
        .filter((e) => e.reason === 'Probe' && e.involvedObject.name === name)
        .sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion));
    const got = await waitFor(`${name}'s 60 Events`, async () => ((await probes()).length >= 60 ? probes() : undefined), T).catch(async (e: Error) => {
      const have = (await probes()).map((x) => x.message);
      throw new Error(`${e.message}: have ${have.length}, missing ${want(name).filter((m) => !have.includes(m)).join(', ')}`);
    });
    assert.deepEqual(got.map((e) => e.message), want(name), 'every Event once, in the order sent');
    assert.deepEqual(got.map((e) => e.count), Array(60).fill(1), 'none counted twice');
    for (const [k, r] of relays.entries()) {
      const have = async (): Promise<number[]> => (await r.telemetry(name)).filter((s) => s.data.i !== undefined).map((s) => s.data.i!);
      const samples = await waitFor(`${name}'s 60 samples at replica ${k}`, async () => {
        const rows = (await r.telemetry(name)).filter((s) => s.data.i !== undefined);
        return rows.length >= 60 ? rows : undefined;
      }, T).catch(async (e: Error) => {
        throw new Error(`${e.message}: has ${(await have()).join(',')}`);
      });
      // once each; a replica's log is in the order the samples reached it, and NATS hands a
      // restarted consumer what it left unacknowledged after newer messages
      assert.deepEqual(samples.map((s) => s.data.i).sort((a, b) => a! - b!), [...Array(60).keys()], 'every sample once');
    }
  }
  // controllers: exactly the replicas wanted, and no pod made or removed beyond what the scales asked
  await waitFor('the Deployment settled at 7', async () => {
    const d = await follower.http<Obj>('GET', `/apis/apps/v1/namespaces/${ns}/deployments/web`);
    return d.status?.observedGeneration === d.metadata.generation && d.status?.replicas === 7 && (await pods(follower)).length === 7;
  }, T);
  const sets = (await follower.http<{ items: Obj[] }>('GET', `/apis/apps/v1/namespaces/${ns}/replicasets`)).items;
  assert.equal(sets.length, 1, 'one ReplicaSet');
  for (const p of await pods(follower)) assert.deepEqual(p.metadata.ownerReferences?.filter((o) => o.controller).map((o) => o.uid), [sets[0]!.metadata.uid]);
  // a pod of no controller marks the end of the replay: everything before it has been replayed
  assert.equal(follower.apply(`apiVersion: v1\nkind: Pod\nmetadata: {name: zz-end, namespace: ${ns}}\nspec: {nodeSelector: {fleet-test: nowhere}, containers: [{name: c, image: edgecore-test/busybox:1}]}\n`).code, 0);
  const events = await replayWatch(one, `/api/v1/namespaces/${ns}/pods`, nsRv, (es) => es.some((e) => e.type === 'ADDED' && e.object.metadata.name === 'zz-end'));
  const web = events.filter((e) => e.object.metadata.name !== 'zz-end');
  const count = (type: string): number => web.filter((e) => e.type === type).length;
  const trail = web.filter((e) => e.type !== 'MODIFIED').map((e) => `${e.type[0]} ${e.object.metadata.name}@${e.object.metadata.resourceVersion}`);
  assert.deepEqual({ created: count('ADDED'), deleted: count('DELETED') }, { created: 30, deleted: 23 }, `no pod made twice, none removed but the surplus: ${steps.join(', ')}\n${trail.join(', ')}`);
});
