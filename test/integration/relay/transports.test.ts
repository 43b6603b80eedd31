/**
 * The embedded broker's listeners. By default (TLS on) MQTT over TLS and over wss, with a
 * certificate from the relay's own CA: a node with the CA gets its retained desired document,
 * a client without it is refused, and the plain MQTT port is not open at all. Plain MQTT only
 * with `broker.plaintext: true` — and even then joins hand out the mqtts:// URL. A configured
 * CA (openssl-made, as K3s takes one) issues the relay's certificates and is what nodes pin.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { caHashOf } from '../../../src/contract/join.js';
import { topics } from '../../../src/contract/topics.js';
import { needService } from '../../helpers/service.js';
import { tmpDir } from '../../helpers/tmp.js';
import { RelayProc, relayPorts, waitFor } from './harness.js';
import { readFileSync } from 'node:fs';

/** the TCP connect's outcome: 'open' or the error code */
const probe = (port: number): Promise<string> =>
  new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve('open');
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });

test('TLS by default: mqtts and wss with the relay CA, no CA refused, the plain MQTT port closed', async (t) => {
  const dir = tmpDir(t, 'edgecore-relay-tls-');
  const ports = await relayPorts();
  const relay = new RelayProc({ dir, ports });
  t.after(() => relay.stop('SIGKILL'));
  await relay.start();
  const ready = await relay.proc!.record('edgerelay ready');
  const broker = ready.broker as Record<string, string>;
  assert.equal(broker.mqtts, `mqtts://127.0.0.1:${ports.mqtts}`);
  assert.match(broker.ws!, /^wss:\/\/.*\/mqtt$/, 'the WebSocket listener speaks wss');
  assert.equal(broker.mqtt, undefined, 'no plain MQTT listener');
  assert.equal(await probe(ports.mqtt), 'ECONNREFUSED', 'nothing listens on the plain MQTT port');
  assert.equal(ready.caHash, caHashOf(relay.caPem));

  const j = await relay.join('n-tls');
  assert.equal(j.brokerUrl, `mqtts://127.0.0.1:${ports.mqtts}`, 'the join hands out the TLS URL');
  const ca = relay.caPem;
  for (const url of [broker.mqtts!, broker.ws!]) {
    const c = await mqtt.connectAsync(url, { clientId: 'n-tls', username: 'n-tls', password: j.password, ca, reconnectPeriod: 0, connectTimeout: 5000 });
    const got: string[] = [];
    c.on('message', (topic) => got.push(topic));
    await c.subscribeAsync(topics.desired('n-tls'), { qos: 1 });
    await waitFor(`desired document over ${url}`, () => got.includes(topics.desired('n-tls')));
    await c.endAsync();
  }
  await assert.rejects(mqtt.connectAsync(broker.mqtts!, { clientId: 'n-tls', username: 'n-tls', password: j.password, reconnectPeriod: 0, connectTimeout: 3000 }), /self[- ]signed|certificate/);
  // plain MQTT spoken to the TLS port gets no CONNACK: the connection is dropped
  const answer = await plainConnect(ports.mqtts, 'n-tls', j.password);
  assert.equal(answer.closed, true);
  assert.notEqual(answer.bytes[0], 0x20, 'no CONNACK over plain TCP');
});

/** Speak a plain MQTT 3.1.1 CONNECT to a port; what came back before the peer closed. */
function plainConnect(port: number, user: string, password: string): Promise<{ closed: boolean; bytes: Buffer }> {
  const str = (s: string): Buffer => Buffer.concat([Buffer.from([0, Buffer.byteLength(s)]), Buffer.from(s)]);
  const body = Buffer.concat([str('MQTT'), Buffer.from([4, 0xc2, 0, 60]), str(user), str(user), str(password)]);
  const packet = Buffer.concat([Buffer.from([0x10, body.length]), body]);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = connect(port, '127.0.0.1', () => s.write(packet));
    s.on('data', (d) => chunks.push(d));
    s.on('error', () => undefined);
    s.on('close', () => resolve({ closed: true, bytes: Buffer.concat(chunks) }));
    setTimeout(() => {
      s.destroy();
      resolve({ closed: false, bytes: Buffer.concat(chunks) });
    }, 5000).unref();
  });
}

test('broker.plaintext: true opens plain MQTT beside TLS; joins still hand out mqtts; a configured CA issues the certificates', async (t) => {
  const dir = tmpDir(t, 'edgecore-relay-plain-');
  const ok = await needService(t, 'openssl', async () => execFileSync('openssl', ['version']));
  if (!ok) return;
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30', '-subj', '/CN=site-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-keyout', caKey, '-out', caCert], { stdio: 'ignore' });
  const ports = await relayPorts();
  const relay = new RelayProc({ dir, ports, extra: { api: { tls: { caCert, caKey } }, broker: { plaintext: true } } });
  t.after(() => relay.stop('SIGKILL'));
  await relay.start();
  const ready = await relay.proc!.record('edgerelay ready');
  assert.equal(ready.caHash, caHashOf(readFileSync(caCert)), 'nodes pin the configured CA');
  assert.ok(relay.proc!.lines.some((l) => l.includes('plain MQTT listener on (broker.plaintext: true)')), 'the plain listener is announced');
  const j = await relay.http<{ token: string }>('POST', '/edge/v1/tokens', {}).then(async ({ token }) => {
    const res = await relay.fetch()(`${relay.api}/edge/v1/join`, { method: 'POST', body: JSON.stringify({ token, node: 'n-plain' }) });
    return (await res.json()) as { brokerUrl: string; password: string };
  });
  assert.equal(j.brokerUrl, `mqtts://127.0.0.1:${ports.mqtts}`);
  const ca = readFileSync(caCert);
  const viaTls = await mqtt.connectAsync(j.brokerUrl, { clientId: 'n-plain', username: 'n-plain', password: j.password, ca, reconnectPeriod: 0, connectTimeout: 5000 });
  await viaTls.endAsync();
  const plain = await mqtt.connectAsync(`mqtt://127.0.0.1:${ports.mqtt}`, { clientId: 'n-plain', username: 'n-plain', password: j.password, reconnectPeriod: 0, connectTimeout: 5000 });
  await plain.endAsync();
});
