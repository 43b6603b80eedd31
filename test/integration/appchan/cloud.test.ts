/**
 * The cloud side of the application channel with a real relay and real edgecore processes:
 * an HTTP endpoint that fails for a while (retried with back-off, then delivered in order);
 * messages down to an offline node (held by a rule's TTL and delivered when it returns, unless
 * their TTL passed first; refused when the rule holds nothing); a cloud consumer's MQTT publish
 * down to an app; and a compromised node flooding app/up with its own credentials (dropped
 * above its quota and counted, another node's messages all delivered). Apps are MQTT clients on
 * the node's own broker. Rules go in with the real kubectl 1.32.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { topics } from '../../../src/contract/topics.js';
import { needService } from '../../helpers/service.js';
import { tmpDir } from '../../helpers/tmp.js';
import { uniqueName } from '../edged/harness.js';
import { haveKubectl } from '../relay/apiserver/kubectl.js';
import { ADMIN, AppNode, AppRelay, CONSUMER, Consumer, freePort, waitFor, yamlDocs } from './harness.js';

const ENDPOINTS = [
  'apiVersion: v1\nkind: Namespace\nmetadata: { name: plant }',
  'apiVersion: rules.kubeedge.io/v1\nkind: RuleEndpoint\nmetadata: { name: node-bus, namespace: plant }\nspec:\n  ruleEndpointType: "eventbus"\n  properties: {}',
  'apiVersion: rules.kubeedge.io/v1\nkind: RuleEndpoint\nmetadata: { name: cloud-api, namespace: plant }\nspec:\n  ruleEndpointType: "rest"\n  properties: {}',
  'apiVersion: rules.kubeedge.io/v1\nkind: RuleEndpoint\nmetadata: { name: cloud, namespace: plant }\nspec:\n  ruleEndpointType: "mqtt"',
];

async function readyRules(relay: AppRelay, n: number): Promise<void> {
  await waitFor(`${n} rules route`, () => {
    const out = relay.k(['get', 'rules', '-n', 'plant']);
    return (out.match(/\sTrue\s/g) ?? []).length === n ? out : undefined;
  });
}

/** An app on the node's broker (reconnecting, subscriptions renewed on each connect). */
function app(url: string, clientId: string, filter?: string): { client: MqttClient; got: { topic: string; payload: string }[] } {
  const got: { topic: string; payload: string }[] = [];
  const client = mqtt.connect(url, { clientId, reconnectPeriod: 200, connectTimeout: 2000 });
  if (filter) client.on('connect', () => void client.subscribeAsync(filter, { qos: 1 }).catch(() => undefined));
  client.on('message', (topic, payload) => got.push({ topic, payload: payload.toString() }));
  client.on('error', () => undefined);
  return { client, got };
}

async function startNode(relay: AppRelay, dir: string, name: string): Promise<AppNode> {
  const node = new AppNode({ dir: join(dir, name), name, join: await relay.join(name), eventbusPort: await freePort(), servicebusPort: await freePort() });
  await node.start();
  return node;
}

test('an HTTP endpoint that fails for a while: each message retried with back-off, then all delivered, in order', { timeout: 120_000 }, async (t) => {
  if (!(await needService(t, 'kubectl 1.32', () => haveKubectl(32)))) return;
  const dir = tmpDir(t, 'appchan-http-');
  const name = uniqueName('ach');
  // the endpoint refuses the first 4 requests, then takes everything
  const seen: { body: string; status: number }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => void (body += c.toString()));
    req.on('end', () => {
      const status = seen.length < 4 ? 503 : 200;
      seen.push({ body, status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ingest`;

  const relay = await AppRelay.create(dir);
  await relay.start();
  t.after(() => relay.stop());
  relay.k(['apply', '-f', '-'], yamlDocs(...ENDPOINTS, `apiVersion: rules.kubeedge.io/v1\nkind: Rule\nmetadata: { name: readings-http, namespace: plant }\nspec:\n  source: "node-bus"\n  sourceResource: {"topic":"user/readings","node_name":"${name}"}\n  target: "cloud-api"\n  targetResource: {"resource":"${url}"}`));
  await readyRules(relay, 1);
  const node = await startNode(relay, dir, name);
  t.after(() => node.stop('SIGKILL'));
  await waitFor('the node has its routes', () => node.routes()?.includes('plant/user/readings'));

  const a = app(node.eventbus, `reader-${name}`);
  t.after(() => a.client.endAsync(true));
  await waitFor('the app connected', () => a.client.connected);
  for (let i = 0; i < 5; i++) await a.client.publishAsync('plant/user/readings', JSON.stringify({ i }), { qos: 1 });

  await waitFor('all 5 delivered', () => (seen.filter((s) => s.status === 200).length >= 5 ? true : undefined), 60_000);
  assert.deepEqual(
    seen.slice(0, 4).map((s) => s.body),
    Array(4).fill(JSON.stringify({ i: 0 })),
    'the first message is retried while the endpoint fails; nothing overtakes it',
  );
  assert.deepEqual(
    seen.filter((s) => s.status === 200).map((s) => (JSON.parse(s.body) as { i: number }).i),
    [0, 1, 2, 3, 4],
    'then each once, in order',
  );
  const s = await waitFor('status counts', async () => {
    const st = await relay.ruleStatus('plant', 'readings-http');
    return st.successMessages === 5 && st.pending === 0 ? st : undefined;
  });
  assert.equal(s.failMessages, 4, 'every failed attempt counted');
  assert.equal(s.messages, 5);
  assert.match(String((s.errors as string[] | undefined)?.[0] ?? ''), /503/);
});

test('down: held for an offline node by the rule TTL and delivered when it returns, unless its own TTL passed; refused without a hold; a consumer publish reaches the app', { timeout: 120_000 }, async (t) => {
  if (!(await needService(t, 'kubectl 1.32', () => haveKubectl(32)))) return;
  const dir = tmpDir(t, 'appchan-down-');
  const name = uniqueName('acd');
  const relay = await AppRelay.create(dir);
  await relay.start();
  t.after(() => relay.stop());
  relay.k(
    ['apply', '-f', '-'],
    yamlDocs(
      ...ENDPOINTS,
      'apiVersion: rules.kubeedge.io/v1\nkind: Rule\nmetadata: { name: cmd-down, namespace: plant, annotations: { appchannel.edgecore.io/ttl: 1h } }\nspec:\n  source: "cloud-api"\n  sourceResource: {"path":"/cmd"}\n  target: "node-bus"\n  targetResource: {"topic":"commands"}',
      'apiVersion: rules.kubeedge.io/v1\nkind: Rule\nmetadata: { name: now-down, namespace: plant }\nspec:\n  source: "cloud-api"\n  sourceResource: {"path":"/now"}\n  target: "node-bus"\n  targetResource: {"topic":"now"}',
      'apiVersion: rules.kubeedge.io/v1\nkind: Rule\nmetadata: { name: consumer-down, namespace: plant }\nspec:\n  source: "cloud"\n  sourceResource: {"topic":"setpoints"}\n  target: "node-bus"\n  targetResource: {"topic":"setpoints"}',
    ),
  );
  await readyRules(relay, 3);
  const node = await startNode(relay, dir, name);
  t.after(() => node.stop('SIGKILL'));
  await waitFor('the relay sees the node', async () => (await relay.nodeReady(name)) === 'True' || undefined);
  await node.stop();
  await waitFor('the relay sees the node away', async () => (await relay.nodeReady(name)) === 'Unknown' || undefined);

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    relay.fetch(`${relay.router}/${name}/plant/${path}`, { method: 'POST', body, headers: { authorization: `Bearer ${ADMIN}`, ...headers } });
  const held = await post('cmd/valve7', 'open');
  assert.equal(held.status, 202, await held.clone().text());
  assert.ok(held.headers.get('x-edgecore-message-id'));
  const short = await post('cmd/valve8', 'close', { 'x-edgecore-ttl': '1s' });
  assert.equal(short.status, 202);
  const refused = await post('now/x', 'ping');
  assert.equal(refused.status, 503);
  assert.match(await refused.text(), /does not hold messages/);
  const anonymous = await relay.fetch(`${relay.router}/${name}/plant/cmd/valve9`, { method: 'POST', body: 'x', headers: { authorization: 'Bearer wrong' } });
  assert.equal(anonymous.status, 401);
  // the short one's TTL passes while the node is away
  await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(short.headers.get('x-edgecore-expires')!) - Date.now()) + 500));

  // the app is there before edgecore: it connects as soon as the node's broker listens
  const a = app(node.eventbus, `actuator-${name}`, '#');
  t.after(() => a.client.endAsync(true));
  await node.start();
  const got = await waitFor('the held message', () => (a.got.some((m) => m.topic === 'commands/valve7') ? a.got : undefined), 60_000);
  assert.deepEqual(got.find((m) => m.topic === 'commands/valve7')?.payload, 'open');

  // a consumer on the relay's broker publishes for the app; an online node gets it at once
  const consumer = await Consumer.connect(relay, 'edgecore/v1/apps/plant/up/#', `${CONSUMER.username}-down-${process.pid}`);
  t.after(() => consumer.close());
  await consumer.client.publishAsync(`edgecore/v1/apps/plant/down/${name}/setpoints/oven`, '180', { qos: 1 });
  await waitFor('the consumer message', () => a.got.some((m) => m.topic === 'setpoints/oven' && m.payload === '180') || undefined, 60_000).catch((e: Error) => {
    const logs = (p: { lines: string[] } | undefined, re: RegExp) => (p?.lines ?? []).filter((l) => re.test(l)).slice(-15).join('\n');
    throw new Error(`${e.message}\napp got: ${JSON.stringify(a.got)}\nrelay:\n${logs(relay.proc, /appchannel|downlink|consumer|broker/)}\nnode:\n${logs(node.proc, /app|eventbus|edgehub/)}`);
  });
  assert.deepEqual(
    a.got.filter((m) => m.topic.startsWith('commands/')).map((m) => m.topic),
    ['commands/valve7'],
    'the expired message never reached the app',
  );
});

test('a node flooding app/up above its quota is dropped and counted; another node is unaffected', { timeout: 120_000 }, async (t) => {
  if (!(await needService(t, 'kubectl 1.32', () => haveKubectl(32)))) return;
  const dir = tmpDir(t, 'appchan-quota-');
  const calm = uniqueName('acq');
  const flood = uniqueName('acf');
  const relay = await AppRelay.create(dir, { quota: { messagesPerSecond: 1, burst: 20 } });
  await relay.start();
  t.after(() => relay.stop());
  relay.k(['apply', '-f', '-'], yamlDocs(...ENDPOINTS, 'apiVersion: rules.kubeedge.io/v1\nkind: Rule\nmetadata: { name: all-up, namespace: plant }\nspec:\n  source: "node-bus"\n  sourceResource: {"topic":"user/#","node_name":"*"}\n  target: "cloud"\n  targetResource: {"topic":"all"}'));
  await readyRules(relay, 1);
  const consumer = await Consumer.connect(relay, 'edgecore/v1/apps/plant/up/#');
  t.after(() => consumer.close());

  // a compromised node: its own credentials, straight onto its app/up topic, no pacing
  const creds = await relay.join(flood);
  const bad = await mqtt.connectAsync(relay.mqtt, { clientId: flood, username: creds.username, password: creds.password, ca: relay.caPem, reconnectPeriod: 0 });
  t.after(() => bad.endAsync(true));
  const FLOOD = 200;
  for (let i = 0; i < FLOOD; i++) await bad.publishAsync(topics.appUp(flood), JSON.stringify({ topic: 'plant/user/x', payload: String(i), time: Date.now(), stream: 's1', seq: i + 1 }), { qos: 1 });

  // a well-behaved node beside it
  const node = await startNode(relay, dir, calm);
  t.after(() => node.stop('SIGKILL'));
  await waitFor('the node has its routes', () => node.routes()?.includes('plant/user/#'));
  const a = app(node.eventbus, `calm-${calm}`);
  t.after(() => a.client.endAsync(true));
  await waitFor('the app connected', () => a.client.connected);
  for (let i = 0; i < 10; i++) await a.client.publishAsync('plant/user/y', String(i), { qos: 1 });

  const fromCalm = () => consumer.got.filter((m) => m.topic.startsWith(`edgecore/v1/apps/plant/up/${calm}/`)).map((m) => m.payload);
  await waitFor('the calm node delivered', () => (fromCalm().length >= 10 ? true : undefined), 60_000);
  assert.deepEqual(fromCalm(), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], 'the other node: everything, in order');
  const st = await waitFor('every flood message delivered or dropped', async () => {
    const x = await relay.ruleStatus('plant', 'all-up');
    return x.pending === 0 && (x.successMessages as number) + (x.drops as number) === FLOOD + 10 ? x : undefined;
  });
  await waitFor('the consumer has what was delivered', () => (consumer.got.length === st.successMessages ? true : undefined));
  const fromFlood = consumer.got.filter((m) => m.topic.startsWith(`edgecore/v1/apps/plant/up/${flood}/`)).map((m) => Number(m.payload));
  assert.ok(fromFlood.length >= 20 && fromFlood.length < FLOOD, `the flood is cut at its quota (${fromFlood.length} through)`);
  assert.deepEqual(fromFlood.slice(0, 20), Array.from({ length: 20 }, (_, i) => i), 'its burst went through first');
  assert.equal((st.dropped as Record<string, number>).rate, FLOOD - fromFlood.length, 'every refused message counted as a rate drop');
  assert.equal(st.drops, FLOOD - fromFlood.length);
});

test('servicebus: a REST call reaches an app on loopback and returns its answer; an app posts a message up over HTTP, counted once per Idempotency-Key', { timeout: 120_000 }, async (t) => {
  if (!(await needService(t, 'kubectl 1.32', () => haveKubectl(32)))) return;
  const dir = tmpDir(t, 'appchan-sb-');
  const name = uniqueName('acs');
  // the app: an HTTP server on loopback (a hostNetwork pod's port)
  const calls: { method: string; url: string; body: string; headers: Record<string, unknown> }[] = [];
  const appServer = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => void (body += c.toString()));
    req.on('end', () => {
      calls.push({ method: req.method ?? '', url: req.url ?? '', body, headers: req.headers });
      res.writeHead(201, { 'content-type': 'application/json', 'x-app': 'valve' }).end(JSON.stringify({ set: body }));
    });
  });
  await new Promise<void>((r) => appServer.listen(0, '127.0.0.1', () => r()));
  t.after(() => new Promise<void>((r) => appServer.close(() => r())));
  const appPort = (appServer.address() as AddressInfo).port;

  const relay = await AppRelay.create(dir);
  await relay.start();
  t.after(() => relay.stop());
  relay.k(
    ['apply', '-f', '-'],
    yamlDocs(
      ...ENDPOINTS,
      `apiVersion: rules.kubeedge.io/v1\nkind: RuleEndpoint\nmetadata: { name: local-http, namespace: plant }\nspec:\n  ruleEndpointType: "servicebus"\n  properties: {"service_port":"${appPort}"}`,
      'apiVersion: rules.kubeedge.io/v1\nkind: Rule\nmetadata: { name: cfg-rpc, namespace: plant }\nspec:\n  source: "cloud-api"\n  sourceResource: {"path":"/cfg"}\n  target: "local-http"\n  targetResource: {"path":"/api/config"}',
      'apiVersion: rules.kubeedge.io/v1\nkind: Rule\nmetadata: { name: posted-up, namespace: plant }\nspec:\n  source: "node-bus"\n  sourceResource: {"topic":"posted","node_name":"*"}\n  target: "cloud"\n  targetResource: {"topic":"posted"}',
    ),
  );
  await readyRules(relay, 2);
  const node = await startNode(relay, dir, name);
  t.after(() => node.stop('SIGKILL'));
  await waitFor('the node has its routes', () => node.routes()?.includes('plant/posted'));
  await waitFor('the relay sees the node', async () => (await relay.nodeReady(name)) === 'True' || undefined);

  const res = await relay.fetch(`${relay.router}/${name}/plant/cfg/line2?dry=1`, { method: 'PUT', body: 'speed=3', headers: { authorization: `Bearer ${ADMIN}`, 'x-trace': 't1' } });
  assert.equal(res.status, 201, 'the app status passes through');
  assert.equal(res.headers.get('x-app'), 'valve');
  assert.deepEqual(await res.json(), { set: 'speed=3' });
  assert.equal(calls.length, 1);
  assert.equal(calls[0]!.method, 'PUT');
  assert.equal(calls[0]!.url, '/api/config/line2?dry=1');
  assert.equal(calls[0]!.headers['x-trace'], 't1', "the caller's headers are passed on");
  assert.equal(calls[0]!.headers.authorization, undefined, "but never the caller's token");

  const consumer = await Consumer.connect(relay, 'edgecore/v1/apps/plant/up/#');
  t.after(() => consumer.close());
  const post = (body: string, key?: string) => fetch(`${node.servicebus}/v1/publish/${encodeURIComponent('plant/posted')}`, { method: 'POST', body, headers: key ? { 'idempotency-key': key } : {} });
  assert.equal((await post('a', 'k1')).status, 202);
  assert.equal((await post('a', 'k1')).status, 200, 'a retried post with the same key is not queued twice');
  assert.equal((await post('b')).status, 202);
  assert.equal((await post('c', 'k2')).status, 202);
  const nowhere = await fetch(`${node.servicebus}/v1/publish/local/only`, { method: 'POST', body: 'x' });
  assert.equal(nowhere.status, 404, 'a topic no rule forwards stays on the node');
  const got = await waitFor('the posts arrive', () => (consumer.got.length >= 3 ? consumer.got : undefined));
  await waitFor('status counts', async () => ((await relay.ruleStatus('plant', 'posted-up')).successMessages === 3 ? true : undefined));
  assert.deepEqual(
    got.map((m) => [m.topic, m.payload]),
    [
      [`edgecore/v1/apps/plant/up/${name}/posted`, 'a'],
      [`edgecore/v1/apps/plant/up/${name}/posted`, 'b'],
      [`edgecore/v1/apps/plant/up/${name}/posted`, 'c'],
    ],
  );
});
