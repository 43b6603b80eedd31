/**
 * edgehub against a real MQTT broker (embedded aedes on an ephemeral port), with metamanager and
 * the node's real store; a plain MQTT client plays the relay. Covers the connect sequence
 * (presence, sync, node status, outbox flushed in order and removed once acknowledged), desired
 * documents (applied, stale, refused with field paths), relay calls parsed at the edge, and the
 * clean stop's offline presence.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import mqtt from 'mqtt';
import { configSchema } from '../../../src/config/schema.js';
import { topics } from '../../../src/contract/topics.js';
import { Bus } from '../../../src/core/bus.js';
import { nullLogger } from '../../../src/core/logger.js';
import { Supervisor } from '../../../src/core/supervisor.js';
import { EdgeHub } from '../../../src/modules/edgehub/module.js';
import { MetaManager } from '../../../src/modules/metamanager/module.js';
import type { NodeMessage, NodeReplies } from '../../../src/node/messages.js';
import { nodeServices } from '../../../src/node/services.js';
import { openNodeStore } from '../../../src/store/store.js';
import { aedesBroker } from '../../helpers/mqtt.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

async function broker(t: TestContext): Promise<string> {
  return (await aedesBroker(t)).url;
}

interface Seen {
  topic: string;
  body: Record<string, unknown>;
  retain: boolean;
}

async function relayClient(t: TestContext, url: string, node: string): Promise<{ client: mqtt.MqttClient; seen: Seen[] }> {
  const client = await mqtt.connectAsync(url, { clientId: `relay-${node}`, reconnectPeriod: 0 });
  t.after(() => client.endAsync(true));
  const seen: Seen[] = [];
  client.on('message', (topic, p, packet) => {
    if (p.length) seen.push({ topic, body: JSON.parse(p.toString()) as Record<string, unknown>, retain: packet.retain });
  });
  await client.subscribeAsync(`${topics.nodeRoot(node)}/#`, { qos: 1 });
  return { client, seen };
}

async function startHub(t: TestContext, url: string, node: string) {
  const dir = tmpDir(t);
  const config = configSchema.parse({
    node: { name: node },
    dataDir: dir,
    modules: {
      metamanager: { api: { enabled: false } },
      edgehub: { enabled: true, relay: { url }, heartbeatSeconds: 3600, reconnect: { initialMs: 20, maxMs: 100 } },
    },
  });
  const store = openNodeStore(join(dir, 'edgecore.db'));
  const services = nodeServices(config, store, 'test');
  const bus = new Bus<NodeMessage, NodeReplies>();
  const sup = new Supervisor(bus, services, nullLogger(), { stopTimeoutMs: 5000 });
  const restart = { initialMs: 50, maxMs: 200, factor: 2, jitter: 0, maxRestarts: 0, resetAfterMs: 1000 };
  sup.add({ module: new MetaManager(), enabled: true, restart });
  sup.add({ module: new EdgeHub(), enabled: true, restart });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await sup.stopAll();
    store.close();
  };
  t.after(stop);
  return { store, services, sup, stop };
}

const cm = (name: string, v: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { v } });
const doc = (node: string, version: number, items: { name: string; v: string }[], epoch = 'e1') => ({
  node,
  epoch,
  version,
  kinds: ['ConfigMap'],
  items: items.map((i) => ({ kind: 'ConfigMap', namespace: 'default', name: i.name, uid: `u-${i.name}`, generation: 1, spec: cm(i.name, i.v) })),
  timestamp: Date.now(),
});
const nodeStatus = (seen: Seen[]) => seen.filter((s) => s.topic.endsWith('/reported/state') && s.body.kind === 'Node').at(-1)?.body.status as Record<string, unknown> | undefined;

test('connect: presence birth, a sync request, the node status; what was queued offline goes up in order and leaves the outbox', async (t) => {
  const url = await broker(t);
  const node = `hub-a-${process.pid}`;
  const { seen } = await relayClient(t, url, node);
  const hub = await startHub(t, url, node);
  // queued before the connection is up (the node runs offline first)
  hub.services.uplink.reportTelemetry({ kind: 'Device', namespace: 'default', name: 'd' }, 'twin.reported', { n: 1 });
  hub.services.uplink.reportTelemetry({ kind: 'Device', namespace: 'default', name: 'd' }, 'twin.reported', { n: 2 });
  await hub.sup.startAll();
  await waitFor('node status up', () => nodeStatus(seen));
  await waitFor('outbox empty', () => hub.services.uplink.backlog().rows === 0 || undefined);
  const presence = seen.find((s) => s.topic === topics.presence(node));
  assert.equal(presence?.body.online, true);
  assert.ok(seen.some((s) => s.topic === topics.sync(node) && s.body.appliedVersion === 0));
  const tel = seen.filter((s) => s.topic === topics.reportedTelemetry(node));
  assert.deepEqual(tel.map((s) => (s.body.data as { n: number }).n), [1, 2]);
  assert.ok((tel[0]!.body.seq as number) < (tel[1]!.body.seq as number), 'stamped with increasing sequence numbers');
  assert.equal(tel[0]!.body.stream, hub.services.uplink.streamId());

  await hub.stop();
  await waitFor('offline presence on a clean stop', () => seen.some((s) => s.topic === topics.presence(node) && s.body.online === false) || undefined);
});

test('the link drops while reports wait for their acknowledgement: after the reconnect they go up, once each, in order, and leave the outbox', async (t) => {
  const { url, aedes } = await aedesBroker(t);
  const node = `hub-d-${process.pid}`;
  const { seen } = await relayClient(t, url, node);
  // the broker takes the node's reports but holds their acknowledgements (a cluster member busy
  // electing stream leaders), then the member dies with them unacknowledged
  let hold = true;
  let holding: { conn: { destroy(): void } } | undefined;
  aedes.authorizePublish = (client, packet, done) => {
    if (hold && client?.id === node && packet.topic === topics.reportedTelemetry(node)) return void (holding = client);
    done(null);
  };
  const hub = await startHub(t, url, node);
  await hub.sup.startAll();
  await waitFor('node status up', () => nodeStatus(seen));
  for (let n = 1; n <= 5; n++) hub.services.uplink.reportTelemetry({ kind: 'Device', namespace: 'default', name: 'd' }, 'twin.reported', { n });
  const member = await waitFor('a report waits for its acknowledgement', () => holding);
  hold = false;
  member.conn.destroy();
  await waitFor('the outbox drained', () => hub.services.uplink.backlog().rows === 0 || undefined);
  const tel = seen.filter((s) => s.topic === topics.reportedTelemetry(node));
  assert.deepEqual(tel.map((s) => (s.body.data as { n: number }).n), [1, 2, 3, 4, 5]);
});

test('a refused subscription (SUBACK 0x80, as NATS answers while JetStream is busy): the node drops the link and subscribes again; it does not stay connected and deaf', async (t) => {
  const { url, aedes } = await aedesBroker(t);
  const node = `hub-s-${process.pid}`;
  const { client: relay } = await relayClient(t, url, node);
  let refusals = 0;
  aedes.authorizeSubscribe = (client, sub, done) => {
    if (client?.id === node && sub.topic === topics.desired(node) && refusals < 2) {
      refusals++;
      return done(null, null); // aedes answers SUBACK 0x80 for a negated subscription
    }
    done(null, sub);
  };
  await relay.publishAsync(topics.desired(node), JSON.stringify(doc(node, 1, [{ name: 'after-refusal', v: 'x' }])), { qos: 1, retain: true });
  const hub = await startHub(t, url, node);
  await hub.sup.startAll();
  await waitFor('the desired document applied once a subscription was granted', () => (hub.store.resources.list('ConfigMap').some((r) => r.name === 'after-refusal') || undefined));
  assert.equal(refusals, 2, 'both refusals were seen: the node subscribed three times');
});

test('desired documents: applied to the store, stale ones ignored, malformed ones refused with the reason in the node status', async (t) => {
  const url = await broker(t);
  const node = `hub-b-${process.pid}`;
  const { client, seen } = await relayClient(t, url, node);
  const hub = await startHub(t, url, node);
  await hub.sup.startAll();
  await waitFor('connected', () => nodeStatus(seen));

  await client.publishAsync(topics.desired(node), JSON.stringify(doc(node, 3, [{ name: 'a', v: '1' }, { name: 'b', v: '1' }])), { qos: 1, retain: true });
  await waitFor('version 3 applied', () => (nodeStatus(seen)?.appliedVersion === 3 ? true : undefined));
  assert.deepEqual(hub.store.resources.list('ConfigMap').map((r) => r.name), ['a', 'b']);
  assert.deepEqual(hub.services.uplink.applied(), { epoch: 'e1', version: 3 });

  // stale: not newer than the applied version
  await client.publishAsync(topics.desired(node), JSON.stringify(doc(node, 2, [])), { qos: 1, retain: true });
  // malformed: an item whose manifest names another object
  const bad = doc(node, 4, [{ name: 'a', v: '2' }]);
  (bad.items[0]!.spec.metadata as { name: string }).name = 'other';
  await client.publishAsync(topics.desired(node), JSON.stringify(bad), { qos: 1, retain: true });
  const st = await waitFor('refusal reported', () => nodeStatus(seen)?.lastError as string | undefined);
  assert.match(st, /items\[0\]\.spec\.metadata\.name: must be "a"/);
  assert.deepEqual(hub.store.resources.list('ConfigMap').map((r) => [r.name, (r.spec as { data: { v: string } }).data.v]), [['a', '1'], ['b', '1']], 'nothing changed');

  // a newer good document applies and clears the error; what it no longer lists is removed
  await client.publishAsync(topics.desired(node), JSON.stringify(doc(node, 5, [{ name: 'a', v: '3' }])), { qos: 1, retain: true });
  await waitFor('version 5 applied', () => (nodeStatus(seen)?.appliedVersion === 5 && nodeStatus(seen)?.lastError === undefined ? true : undefined));
  assert.deepEqual(hub.store.resources.list('ConfigMap').map((r) => [r.name, (r.spec as { data: { v: string } }).data.v]), [['a', '3']]);
});

test('relay calls are parsed at the edge: malformed with an id is answered Invalid, a disabled module NotImplemented', async (t) => {
  const url = await broker(t);
  const node = `hub-c-${process.pid}`;
  const { client, seen } = await relayClient(t, url, node);
  const hub = await startHub(t, url, node);
  await hub.sup.startAll();
  await waitFor('connected', () => nodeStatus(seen));
  const answer = (id: string) => waitFor(`answer ${id}`, () => seen.find((s) => s.topic === topics.rpcResponse(node) && s.body.id === id)?.body);

  await client.publishAsync(topics.rpcRequest(node), JSON.stringify({ id: 'r1', method: 'exec', params: {}, deadline: Date.now() + 10_000 }), { qos: 1 });
  const r1 = await answer('r1');
  assert.equal(r1.done, true);
  assert.equal((r1.error as { code: string }).code, 'Invalid');
  assert.deepEqual((r1.error as { issues: { path: string }[] }).issues.map((i) => i.path), ['method']);

  await client.publishAsync(topics.rpcRequest(node), JSON.stringify({ id: 'r2', method: 'twin.get', params: { namespace: 'default', name: 'd' }, deadline: Date.now() + 10_000 }), { qos: 1 });
  const r2 = await answer('r2');
  assert.equal((r2.error as { code: string }).code, 'NotImplemented', 'devicetwin does not run on this node');

  await client.publishAsync(topics.rpcRequest(node), JSON.stringify({ id: 'r3', method: 'twin.get', params: { namespace: 'default' }, deadline: Date.now() + 10_000 }), { qos: 1 });
  const r3 = await answer('r3');
  assert.deepEqual((r3.error as { code: string; issues: { path: string }[] }).issues.map((i) => i.path), ['name']);

  // past its deadline (the node was offline): ignored; garbage without an id: dropped
  await client.publishAsync(topics.rpcRequest(node), JSON.stringify({ id: 'late', method: 'twin.get', params: {}, deadline: 1 }), { qos: 1 });
  await client.publishAsync(topics.rpcRequest(node), 'null', { qos: 1 });
  await client.publishAsync(topics.rpcRequest(node), JSON.stringify({ id: 'r4', method: 'exec', params: {}, deadline: Date.now() + 10_000 }), { qos: 1 });
  await answer('r4');
  assert.ok(!seen.some((s) => s.topic === topics.rpcResponse(node) && s.body.id === 'late'));
});
