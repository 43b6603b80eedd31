/**
 * Garbage from a node is refused at the relay's contract edge: every malformed message on every
 * upstream channel is counted and logged with field paths, nothing reaches the store, nothing
 * throws (no `Invalid time value`, no `Cannot read properties of null`), and the node's good
 * messages still count. A real relay (embedded broker) and a real MQTT client with the node's
 * own credentials.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { topics } from '../../../src/contract/topics.js';
import { createLogger } from '../../../src/core/logger.js';
import { ADMIN } from '../../../src/relay/apiserver/authz.js';
import { parseRelayConfig } from '../../../src/relay/config.js';
import { startRelay } from '../../../src/relay/relay.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from './harness.js';

test('a node that sends garbage on every channel is refused and counted; its good messages still land', async (t) => {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level: 'debug', format: 'json', sink: { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) } }, 'edgerelay');
  const config = parseRelayConfig({
    dataDir: tmpDir(t),
    // plain listeners, explicitly: this test is about the contract edge, not TLS (transports.test.ts)
    api: { host: '127.0.0.1', port: 0, adminToken: 'admin', tls: { enabled: false } },
    broker: { host: '127.0.0.1', port: 0, plaintext: true, tls: { enabled: false }, ws: { enabled: false } },
  });
  const relay = await startRelay(config, log);
  t.after(() => relay.stop());
  const node = `garbage-${process.pid}`;
  const creds = (await relay.service.join({ token: (await relay.service.createToken()).token, node }, '127.0.0.1')).response;
  const admin = relay.client(ADMIN, 'test');
  const POD = { group: '', resource: 'pods' };
  await admin.create(POD, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { nodeName: node, containers: [{ name: 'c', image: 'busybox:1' }] } });
  const client = await mqtt.connectAsync(relay.broker.mqtt!, { clientId: node, username: creds.username, password: creds.password, reconnectPeriod: 0 });
  t.after(() => client.endAsync(true));

  const garbage: [string, string][] = [
    [topics.reportedState(node), 'null'],
    [topics.reportedState(node), '{not json'],
    [topics.reportedState(node), JSON.stringify({ kind: 'Pod', namespace: 'default', name: 'p', status: {}, desiredVersion: 1, timestamp: 1e20 })],
    [topics.reportedState(node), JSON.stringify({ kind: 'Pod', namespace: null, name: 'p', status: {}, desiredVersion: 1, timestamp: 1 })],
    [topics.reportedState(node), JSON.stringify({ kind: 'Node', namespace: '', name: node, status: null, desiredVersion: 1, timestamp: 1 })],
    [topics.reportedTelemetry(node), JSON.stringify({ kind: 'Device', namespace: 'default', name: 'd', event: 'x', data: 1, desiredVersion: -1, timestamp: 'soon' })],
    [topics.reportedTelemetry(node), '[]'],
    [topics.heartbeat(node), JSON.stringify({ v: 'a', q: 0, t: 0 })],
    [topics.presence(node), JSON.stringify({ online: 'yes' })],
    [topics.sync(node), '42'],
    [topics.rpcResponse(node), JSON.stringify({ id: 7, n: 0, done: true })],
  ];
  const counters = relay.link.ingress.counters;
  const before = counters.rejected;
  const rv = (await admin.get(POD, 'default', 'p')).metadata.resourceVersion;
  for (const [topic, body] of garbage) await client.publishAsync(topic, body, { qos: 1 });
  await waitFor('every malformed message refused', () => counters.rejected - before === garbage.length || undefined);

  assert.equal((await admin.get(POD, 'default', 'p')).metadata.resourceVersion, rv, 'the pod was not written');
  assert.deepEqual(relay.store.listTelemetry({ node }), []);
  assert.deepEqual(lines.filter((l) => l.level === 'error'), [], 'nothing failed inside the relay');
  const refused = lines.filter((l) => l.msg === 'refused a malformed message');
  assert.equal(refused.length, garbage.length);
  const why = refused.map((l) => (l.issues as string[]).join('; '));
  assert.ok(why.some((w) => w.startsWith('timestamp:')), why.join('\n'));
  assert.ok(why.some((w) => w.startsWith('namespace:')), why.join('\n'));
  assert.ok(why.some((w) => w.startsWith('status:')), why.join('\n'));
  assert.ok(why.includes('(root): not JSON'), why.join('\n'));

  // the same node's well-formed report still lands (as the pod's status, through the API)
  const good = { kind: 'Pod', namespace: 'default', name: 'p', status: { phase: 'Running' }, desiredVersion: 1, timestamp: Date.UTC(2026, 0, 1) };
  await client.publishAsync(topics.reportedState(node), JSON.stringify(good), { qos: 1 });
  const stored = await waitFor('good report stored', async () => ((await admin.get(POD, 'default', 'p')).status as { phase?: string }).phase === 'Running' || undefined);
  assert.ok(stored);
});
