/**
 * The application channel with the relay on an external broker (our own mosquitto process, the
 * relay's generated password and ACL files, TLS from the relay's CA): an app's messages on the
 * node reach a cloud consumer on mosquitto through the relay's rule, in order; a node that
 * publishes a retained app message with its own credentials is refused and the message cleared
 * from the broker (no mosquitto ACL can refuse the retain flag); a consumer's retained downlink
 * publish is refused the same way; the consumer account cannot write a node's desired
 * state (the generated ACL).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { topics } from '../../../src/contract/topics.js';
import { uniqueName } from '../edged/harness.js';
import { world } from '../relay/world.js';
import { AppNode, CONSUMER, freePort, waitFor, yamlDocs } from './harness.js';

const RULES = yamlDocs(
  'apiVersion: v1\nkind: Namespace\nmetadata: { name: plant }',
  'apiVersion: rules.kubeedge.io/v1\nkind: RuleEndpoint\nmetadata: { name: node-bus, namespace: plant }\nspec:\n  ruleEndpointType: "eventbus"\n  properties: {}',
  'apiVersion: rules.kubeedge.io/v1\nkind: RuleEndpoint\nmetadata: { name: cloud, namespace: plant }\nspec:\n  ruleEndpointType: "mqtt"',
  'apiVersion: rules.kubeedge.io/v1\nkind: Rule\nmetadata: { name: temperature-up, namespace: plant }\nspec:\n  source: "node-bus"\n  sourceResource: {"topic":"sensor/temperature","node_name":"*"}\n  target: "cloud"\n  targetResource: {"topic":"temperature"}',
);

/** what a fresh subscriber gets retained on `topic` within a short window (the broker sends retained messages at once) */
async function retainedOn(url: string, auth: { username: string; password: string; ca: string }, topic: string): Promise<string[]> {
  const c = await mqtt.connectAsync(url, { ...auth, clientId: `probe-${process.pid}-${Math.random().toString(36).slice(2)}`, clean: true, reconnectPeriod: 0 });
  const got: string[] = [];
  c.on('message', (_t, payload, packet) => {
    if (packet.retain) got.push(payload.toString());
  });
  await c.subscribeAsync(topic, { qos: 1 });
  await sleep(1000);
  await c.endAsync(true);
  return got;
}

test('mosquitto as the relay broker: app messages reach a consumer by rule; retained app messages of a node or a consumer are refused and cleared; a consumer cannot write desired state', { timeout: 180_000 }, async (t) => {
  const w = await world(t, 'mosquitto', {}, { appchannel: { consumers: [{ name: CONSUMER.name, password: CONSUMER.password, namespaces: ['*'] }] } });
  if (!w) return;
  const name = uniqueName('acm');
  const apply = w.relay.kubectl(['apply', '-f', '-'], RULES);
  assert.equal(apply.code, 0, apply.err);
  await waitFor('the rule routes', () => (/\sTrue\s/.test(w.relay.kubectl(['get', 'rules', '-n', 'plant']).out) ? true : undefined));

  const j = await w.relay.join(name);
  await w.reload([j]);
  // mosquitto's password file is rewritten with the consumer account at the relay's start; make sure it was read
  const url = w.brokerUrl(j);
  const consumerAuth = { username: CONSUMER.username, password: CONSUMER.password, ca: w.relay.caPem };
  const consumer = await waitFor('the consumer account accepted by mosquitto', async () =>
    mqtt.connectAsync(url, { ...consumerAuth, clientId: `${CONSUMER.username}-${name}`, reconnectPeriod: 0, connectTimeout: 5000 }).catch(() => undefined),
  );
  t.after(() => consumer.endAsync(true));
  const got: { topic: string; payload: string }[] = [];
  consumer.on('message', (topic, payload) => got.push({ topic, payload: payload.toString() }));
  await consumer.subscribeAsync('edgecore/v1/apps/plant/up/#', { qos: 1 });

  const node = new AppNode({ dir: join(w.dir, name), name, join: { ...j, brokerUrl: url }, eventbusPort: await freePort(), servicebusPort: await freePort() });
  await node.start();
  t.after(() => node.stop('SIGKILL'));
  await waitFor('the node has its routes', () => (node.routes()?.length ? true : undefined), 60_000);

  // up: an app on the node's own broker publishes 20 readings
  const app = await mqtt.connectAsync(node.eventbus, { clientId: `sensor-${name}`, reconnectPeriod: 200 });
  t.after(() => app.endAsync(true));
  for (let i = 0; i < 20; i++) await app.publishAsync('plant/sensor/temperature', `${20 + i / 10}`, { qos: 1 });
  const upTopic = `edgecore/v1/apps/plant/up/${name}/temperature`;
  await waitFor('20 readings at the consumer', () => (got.filter((m) => m.topic === upTopic).length >= 20 ? true : undefined), 60_000);
  assert.deepEqual(
    got.filter((m) => m.topic === upTopic).map((m) => m.payload),
    Array.from({ length: 20 }, (_, i) => `${20 + i / 10}`),
    'every reading once, in order',
  );

  // a consumer's retained downlink publish is refused, and cleared by the relay (only the relay's
  // account reads the downlink tree, so the relay's word is what the test can read)
  await consumer.publishAsync(`edgecore/v1/apps/plant/down/${name}/setpoints/oven`, '180', { qos: 1, retain: true });
  await waitFor('the consumer\u2019s retained message refused', () => w.relay.proc!.lines.some((l) => /refused a retained consumer message/.test(l)) || undefined, 30_000);

  // the generated ACL: the consumer account cannot write a node's desired state (mosquitto drops the
  // publish and acknowledges nothing, so it goes at QoS 0); checked below
  await consumer.publishAsync(topics.desired(name), JSON.stringify({ node: name, epoch: 'x', version: 999999, kinds: [], items: [] }), { qos: 0, retain: true });

  // a compromised node publishes a retained app message on its own app/up channel with its own
  // credentials (the node process stopped first: mosquitto takes the username as the client id)
  await node.stop();
  const nodeAuth = { username: j.username, password: j.password, ca: w.relay.caPem };
  const rogue = await mqtt.connectAsync(url, { ...nodeAuth, clientId: j.username, reconnectPeriod: 0 });
  const appUp = topics.appUp(name);
  await rogue.publishAsync(appUp, JSON.stringify({ seq: 1, topic: 'plant/sensor/temperature', payload: 'x' }), { qos: 1, retain: true });
  await rogue.endAsync(true);
  await waitFor('the node\u2019s retained app message refused', () => w.relay.proc!.lines.some((l) => /refused a retained message from a node/.test(l)) || undefined, 30_000);
  await waitFor('nothing retained on the node\u2019s app/up', async () => ((await retainedOn(url, nodeAuth, appUp)).length === 0 ? true : undefined), 30_000);
  const retained = await retainedOn(url, nodeAuth, topics.desired(name));
  assert.equal(retained.length, 1, 'the relay\u2019s retained document');
  assert.doesNotMatch(retained[0]!, /999999/, 'the node\u2019s desired document is the relay\u2019s');
});
