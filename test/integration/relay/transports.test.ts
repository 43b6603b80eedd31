/**
 * The embedded broker's other listeners: MQTT over WebSocket and MQTT over TLS (a self-signed
 * certificate made with openssl), each with a node's own credentials, receiving its retained
 * desired document — and a wrong CA refused.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { parse, stringify } from 'yaml';
import { topics } from '../../../src/contract/topics.js';
import { needService } from '../../helpers/service.js';
import { tmpDir } from '../../helpers/tmp.js';
import { freePort, RelayProc, waitFor } from './harness.js';

test('nodes reach the embedded broker over WebSocket and over TLS', async (t) => {
  const dir = tmpDir(t, 'edgecore-relay-tls-');
  const ok = await needService(t, 'openssl', async () => execFileSync('openssl', ['version']));
  if (!ok) return;
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  const tlsPort = await freePort();
  const relay = new RelayProc({ dir, ports: { api: await freePort(), mqtt: await freePort(), ws: await freePort() } });
  // add the TLS listener to the generated config
  const cfg = parse(readFileSync(relay.configFile, 'utf8')) as { broker: Record<string, unknown> };
  cfg.broker.tls = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem'), port: tlsPort };
  writeFileSync(relay.configFile, stringify(cfg));
  t.after(() => relay.stop('SIGKILL'));
  await relay.start();
  const ready = await relay.proc!.record('edgerelay ready');
  const broker = ready.broker as Record<string, string>;
  assert.match(broker.mqtts!, /^mqtts:\/\//);
  assert.match(broker.ws!, /^wss:\/\/.*\/mqtt$/, 'with a certificate the WebSocket listener speaks wss');

  const j = await relay.join('n-tls');
  const ca = readFileSync(join(dir, 'cert.pem'));
  for (const url of [broker.mqtts!, broker.ws!]) {
    const c = await mqtt.connectAsync(url, { clientId: 'n-tls', username: 'n-tls', password: j.password, ca, reconnectPeriod: 0, connectTimeout: 5000 });
    const got: string[] = [];
    c.on('message', (topic) => got.push(topic));
    await c.subscribeAsync(topics.desired('n-tls'), { qos: 1 });
    await waitFor(`desired document over ${url}`, () => got.includes(topics.desired('n-tls')));
    await c.endAsync();
  }
  await assert.rejects(mqtt.connectAsync(broker.mqtts!, { clientId: 'n-tls', username: 'n-tls', password: j.password, reconnectPeriod: 0, connectTimeout: 3000 }), /self[- ]signed|certificate/);
});
