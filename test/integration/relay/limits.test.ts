/**
 * Issue 18, point 4: no single input makes the relay hold more than a bounded amount of memory.
 * Real `edgerelay` processes, a real mosquitto with the configuration the relay writes, and MQTT
 * clients holding a joined node's own credentials:
 *
 *  - a 100 MB publish is refused at its header (embedded aedes over TCP and WebSocket: the packet
 *    guard; mosquitto: the `max_packet_size` of the generated config), the sender's connection is
 *    closed before any acknowledgement, other nodes stay connected and the sender can come back;
 *  - HTTP bodies: a declared length over the limit gets 413 before the body is read, a body
 *    nesting deeper than the limit gets 400 and creates nothing.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { topics } from '../../../src/contract/topics.js';
import { needService } from '../../helpers/service.js';
import { tmpDir } from '../../helpers/tmp.js';
import { ADMIN, freePort, Proc, RelayProc, relayPorts, waitFor, type Joined } from './harness.js';

const HUNDRED_MB = 100 * 1024 * 1024;

const connectAs = (url: string, j: Joined): Promise<MqttClient> =>
  mqtt.connectAsync(url, { clientId: j.username, username: j.username, password: j.password, reconnectPeriod: 0, clean: true });

/** Publish at QoS 1: 'acknowledged' on PUBACK, 'closed' when the broker closes the connection first. */
function publishOutcome(c: MqttClient, topic: string, payload: Buffer | string, retain = false): Promise<string> {
  return new Promise((resolve) => {
    const onClose = (): void => resolve('closed');
    c.once('close', onClose);
    c.publish(topic, payload, { qos: 1, retain }, (err) => {
      c.off('close', onClose);
      resolve(err ? `error: ${err.message}` : 'acknowledged');
    });
  });
}

const heartbeat = (): string => JSON.stringify({ v: 0, q: 0, t: Date.now() });

async function plainRelay(t: TestContext, extra?: RelayProc['o']['extra']): Promise<{ relay: RelayProc; endpoints: Record<string, string> }> {
  const relay = new RelayProc({ dir: tmpDir(t, 'edgecore-limits-'), ports: await relayPorts(), plaintext: true, ...(extra ? { extra } : {}) });
  t.after(() => relay.stop('SIGKILL'));
  await relay.start();
  const ready = await relay.proc!.record('edgerelay ready');
  return { relay, endpoints: ready.broker as Record<string, string> };
}

test('embedded broker: a 100 MB publish (TCP and WebSocket) closes the sender at its header; the relay and other nodes carry on', async (t) => {
  const { relay, endpoints } = await plainRelay(t);
  const attacker = await relay.join(`big-${process.pid}`);
  const bystander = await relay.join(`calm-${process.pid}`);
  const calm = await connectAs(endpoints.mqtt!, bystander);
  t.after(() => calm.endAsync(true));
  let calmClosed = false;
  calm.on('close', () => void (calmClosed = true));

  for (const url of [endpoints.mqtt!, endpoints.ws!]) {
    const c = await connectAs(url, attacker);
    t.after(() => c.endAsync(true));
    assert.equal(await publishOutcome(c, topics.reportedState(attacker.username), Buffer.alloc(HUNDRED_MB, 0x78), true), 'closed', url);
  }
  const refused = await relay.proc!.record('connection closed: packet over the size limit');
  assert.equal(refused.bytes, HUNDRED_MB + 2 + topics.reportedState(attacker.username).length + 2 + 5, 'refused from the header: its full size was only announced');

  // the sender may come back and be heard; the bystander never noticed
  const again = await connectAs(endpoints.mqtt!, attacker);
  t.after(() => again.endAsync(true));
  assert.equal(await publishOutcome(again, topics.heartbeat(attacker.username), heartbeat()), 'acknowledged');
  assert.equal(await publishOutcome(calm, topics.heartbeat(bystander.username), heartbeat()), 'acknowledged');
  assert.equal(calmClosed, false);
  assert.equal((await fetch(`${relay.api}/healthz`)).status, 200);
  assert.equal(relay.proc!.child.exitCode, null);
});

test('mosquitto with the config the relay writes: a 100 MB publish is refused, the node can come back', async (t) => {
  const ok = await needService(t, 'mosquitto binary', async () => {
    await new Promise<void>((resolve, reject) => {
      const p = spawn('mosquitto', ['-h']);
      p.once('error', reject);
      p.once('exit', () => resolve());
    });
  });
  if (!ok) return;
  const dir = tmpDir(t, 'edgecore-limits-mosq-');
  const port = await freePort();
  mkdirSync(join(dir, 'conf.d'));
  const files = { passwordFile: join(dir, 'edge.passwd'), aclFile: join(dir, 'edge.acl'), confFile: join(dir, 'conf.d', 'edgerelay.conf') };
  // the admin's part: a listener and the client-id rule; the relay's part comes from include_dir
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'use_username_as_clientid true', 'user root', `include_dir ${join(dir, 'conf.d')}`, ''].join('\n'));
  const url = `mqtt://127.0.0.1:${port}`;
  const relay = new RelayProc({
    dir,
    ports: await relayPorts(),
    plaintext: true,
    extra: { broker: { mode: 'external', external: { url, username: '_relay', password: 'relay-secret', ...files, maxPacketBytes: 1024 * 1024 } } },
  });
  t.after(() => relay.stop('SIGKILL'));
  await relay.start(); // writes the password, ACL and config files
  const mosq = new Proc('mosquitto', spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] }));
  t.after(() => mosq.stop('SIGKILL'));
  await waitFor('mosquitto listening', () => new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  }));
  const node = await relay.join(`big-${process.pid}`);
  mosq.child.kill('SIGHUP'); // re-read the password file the join rewrote
  const c = await waitFor('the node is let in', async () => connectAs(url, node).catch(() => undefined));
  t.after(() => c.endAsync(true));
  // anonymous clients are not (the generated config says so)
  await assert.rejects(mqtt.connectAsync(url, { reconnectPeriod: 0, clientId: 'anon' }), /Not authorized|Connection refused/);

  assert.equal(await publishOutcome(c, topics.reportedState(node.username), Buffer.alloc(HUNDRED_MB, 0x78), true), 'closed');
  const again = await connectAs(url, node);
  t.after(() => again.endAsync(true));
  assert.equal(await publishOutcome(again, topics.heartbeat(node.username), heartbeat()), 'acknowledged');
  assert.equal(mosq.child.exitCode, null, 'mosquitto still runs');
});

/** A raw HTTP request (plain API): status and body. */
function raw(api: string, method: string, path: string, headers: Record<string, string | number>, body: string | undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(api + path, { method, headers: { authorization: `Bearer ${ADMIN}`, ...headers } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => void (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    // a declared length larger than what is sent: the answer must come without the rest
    if (headers['content-length'] === undefined || Number(headers['content-length']) === Buffer.byteLength(body ?? '')) req.end();
  });
}

test('HTTP: a declared 100 MB body is refused before it is read (413); a body nesting too deep is refused (400) and creates nothing', async (t) => {
  const { relay } = await plainRelay(t);
  const cms = '/api/v1/namespaces/default/configmaps';
  for (const path of [cms, '/edge/v1/join']) {
    const r = await raw(relay.api, 'POST', path, { 'content-type': 'application/json', 'content-length': HUNDRED_MB }, '{"a":');
    assert.equal(r.status, 413, `${path}: ${r.body}`);
  }

  const deep = (n: number): string => `${'{"a":'.repeat(n)}"x"${'}'.repeat(n)}`;
  const body = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep"},"data":${deep(20_000)}}`;
  const r = await raw(relay.api, 'POST', cms, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, body);
  assert.equal(r.status, 400, r.body);
  assert.match(JSON.parse(r.body).message as string, /nests deeper than 100 levels/);
  assert.equal((await raw(relay.api, 'GET', `${cms}/deep`, {}, undefined)).status, 404, 'nothing was created');

  const j = `{"token":"x","node":${'['.repeat(3000)}${']'.repeat(3000)}}`;
  const jr = await raw(relay.api, 'POST', '/edge/v1/join', { 'content-type': 'application/json', 'content-length': j.length }, j);
  assert.equal(jr.status, 400, jr.body);
  assert.match(jr.body, /nests deeper than 64 levels/);

  assert.equal((await fetch(`${relay.api}/healthz`)).status, 200);
  assert.deepEqual(relay.proc!.lines.filter((l) => l.includes('"level":"error"')), []);
});

test('HTTP: a body that is JSON but not an object is refused with a 400 Status on /edge/v1 (not a 500); POST …/log is 405', async (t) => {
  // found by the HTTP fuzzer (fuzz-http.test.ts): `null` to /edge/v1/tokens read a field of null
  const { relay } = await plainRelay(t);
  for (const path of ['/edge/v1/tokens', '/edge/v1/join']) {
    for (const body of ['null', '[]', '"x"', '7']) {
      const r = await raw(relay.api, 'POST', path, { 'content-type': 'application/json', 'content-length': body.length }, body);
      assert.equal(r.status, 400, `${path} ${body}: ${r.body}`);
      const s = JSON.parse(r.body) as { kind: string; code: number; message: string };
      assert.deepEqual([s.kind, s.code], ['Status', 400]);
      assert.match(s.message, /must be a JSON object/);
    }
  }
  // a stream subresource answers its one verb: POST …/log is 405 (it went to the node: 503 when offline)
  const log = await raw(relay.api, 'POST', '/api/v1/namespaces/default/pods/p/log', { 'content-type': 'application/json', 'content-length': 2 }, '{}');
  assert.equal(log.status, 405, log.body);
  assert.equal((JSON.parse(log.body) as { reason: string }).reason, 'MethodNotAllowed');
  assert.deepEqual(relay.proc!.lines.filter((l) => l.includes('"level":"error"')), []);
});
