/**
 * Who the embedded broker lets in (src/relay/broker/admission.ts): the connection cap keeps the
 * API answering and counts every listener (a real relay process); a late CONNECT of an attempt
 * the node abandoned never takes over the node's live session — whether the node named its
 * attempts in the Will (edgehub does) or the abandoned socket was closed while the broker checked
 * it (the broker in this process, with an authenticator the test holds).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import mqtt, { MqttClient, type IClientOptions } from 'mqtt';
import { topics } from '../../../src/contract/topics.js';
import { nullLogger } from '../../../src/core/logger.js';
import { EmbeddedBroker, type Authenticator } from '../../../src/relay/broker/embedded.js';
import { parseRelayConfig } from '../../../src/relay/config.js';
import { ROOT, tmpDir } from '../../helpers/tmp.js';
import { Proc, RelayProc, relayPorts, waitFor } from './harness.js';

/**
 * A real relay process (TLS listeners, the default, and the plain one too) with `broker` merged
 * into its config; `nofile` runs it under that open-file limit (prlimit), as a unit's LimitNOFILE.
 */
async function relayWith(t: TestContext, broker: Record<string, unknown>, nofile?: number): Promise<RelayProc> {
  const dir = tmpDir(t, 'edgecore-relay-admission-');
  const relay = new RelayProc({ dir, ports: await relayPorts(), extra: { broker: { plaintext: true, ...broker }, log: { level: 'debug', format: 'json' } } });
  t.after(() => relay.stop('SIGKILL'));
  if (nofile === undefined) await relay.start();
  else {
    const args = [`--nofile=${nofile}:${nofile}`, process.execPath, '--import', 'tsx', join(ROOT, 'src/cli/edgerelay/entry.ts'), 'run', '--config', relay.configFile];
    relay.proc = new Proc('edgerelay', spawn('prlimit', args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } }));
    await relay.proc.record('edgerelay ready');
  }
  return relay;
}

const endpoints = async (relay: RelayProc): Promise<Record<string, string>> => (await relay.proc!.record('edgerelay ready')).broker as Record<string, string>;

function willMark(node: string, bootId: string, attempt: number): NonNullable<IClientOptions['will']> {
  const payload = JSON.stringify({ online: false, bootId, agentVersion: 'test', timestamp: Date.now(), attempt });
  return { topic: topics.presence(node), payload: Buffer.from(payload), qos: 1, retain: true };
}

const nodeOpts = (node: string, password: string, extra: Partial<IClientOptions> = {}): IClientOptions => ({
  clientId: node,
  username: node,
  password,
  clean: false,
  reconnectPeriod: 0,
  connectTimeout: 5000,
  protocolVersion: 4,
  ...extra,
});

/** an MQTT connection that fails on a close before CONNACK (connectAsync would wait forever then) */
function connectNode(url: string, opts: IClientOptions): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, opts);
    c.once('connect', () => resolve(c));
    c.once('error', (e) => (c.end(true), reject(e)));
    c.once('close', () => (c.connected ? undefined : (c.end(true), reject(new Error('closed before CONNACK')))));
  });
}

/** a raw connection to `url`'s port: resolves once the relay closed it (over the cap it does at once) */
function closedByRelay(url: string): Promise<void> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s: Socket = createConnection(Number(u.port), u.hostname);
    s.on('error', () => undefined);
    s.once('close', () => resolve());
  });
}

/** a raw connection to `url`'s port, held open; `closed` resolves once the relay closes it */
function rawConnection(url: string): { sock: Socket; closed: Promise<void> } {
  const u = new URL(url);
  const sock: Socket = createConnection(Number(u.port), u.hostname);
  sock.on('error', () => undefined);
  return { sock, closed: new Promise((resolve) => sock.once('close', () => resolve())) };
}

test('the connection cap closes connections beyond it on every listener (TCP, TLS, WebSocket over TLS), and the API keeps answering', { timeout: 120_000 }, async (t) => {
  const relay = await relayWith(t, { maxConnections: 3 });
  const ep = await endpoints(relay);
  const ca = relay.caPem;
  const [a, b, c, d] = [await relay.join('cap-a'), await relay.join('cap-b'), await relay.join('cap-c'), await relay.join('cap-d')];
  const ca1 = await connectNode(ep.mqtt!, nodeOpts('cap-a', a.password));
  const cb = await connectNode(ep.ws!, nodeOpts('cap-b', b.password, { ca }));
  const cc = await connectNode(ep.mqtts!, nodeOpts('cap-c', c.password, { ca }));
  t.after(() => Promise.all([ca1.endAsync(true), cb.endAsync(true)]));
  // full: a fourth connection is closed at once, on each listener
  await closedByRelay(ep.mqtt!);
  await closedByRelay(ep.mqtts!);
  await closedByRelay(ep.ws!.replace(/^wss/, 'https'));
  await assert.rejects(connectNode(ep.mqtts!, nodeOpts('cap-d', d.password, { ca })), /closed before CONNACK|ECONNRESET|socket disconnected/);
  const health = await relay.fetch()(relay.api + '/healthz');
  assert.equal(health.status, 200, 'the API answers at the cap');
  await relay.http('GET', '/api/v1/nodes');
  // a freed slot is usable again; the nodes already connected were never touched
  await cc.endAsync(true);
  const cd = await waitFor('a free slot', () => connectNode(ep.mqtts!, nodeOpts('cap-d', d.password, { ca })).catch(() => undefined));
  t.after(() => cd.endAsync(true));
  assert.equal(ca1.connected && cb.connected, true);
});

test('under a small open-file limit, a flood of connections far past it leaves /healthz and the API answering; connected nodes stay', { timeout: 180_000 }, async (t) => {
  // 160 descriptors for the whole process; 20 broker connections. Without the cap the flood below
  // (300 held connections) exhausts the descriptors and accept() fails for the API as well.
  const relay = await relayWith(t, { maxConnections: 20 }, 160);
  const ep = await endpoints(relay);
  const [a, b] = [await relay.join('flood-a'), await relay.join('flood-b')];
  const na = await connectNode(ep.mqtt!, nodeOpts('flood-a', a.password));
  const nb = await connectNode(ep.mqtts!, nodeOpts('flood-b', b.password, { ca: relay.caPem }));
  t.after(() => Promise.all([na.endAsync(true), nb.endAsync(true)]));
  const flood = Array.from({ length: 300 }, () => rawConnection(ep.mqtt!));
  t.after(() => flood.forEach((f) => f.sock.destroy()));
  // 18 slots were left: the other 282 are closed by the relay (the admitted ones stay open)
  let closed = 0;
  for (const f of flood) void f.closed.then(() => closed++);
  await waitFor('the relay closing the connections beyond the cap', () => closed >= 300 - 18);
  const f = relay.fetch();
  for (let i = 0; i < 10; i++) {
    const r = await f(relay.api + '/healthz');
    assert.equal(r.status, 200, `/healthz at the cap (probe ${i})`);
  }
  await relay.http('GET', '/api/v1/nodes');
  assert.equal(na.connected && nb.connected, true, 'the nodes connected before the flood keep their sessions');
  // the flood goes away: a node gets in again
  for (const x of flood) x.sock.destroy();
  const c = await relay.join('flood-c');
  const nc = await waitFor('a slot after the flood', () => connectNode(ep.mqtt!, nodeOpts('flood-c', c.password)).catch(() => undefined));
  t.after(() => nc.endAsync(true));
});

/** the embedded broker in this process, with an authenticator the test controls */
async function inProcessBroker(t: TestContext, authenticate: Authenticator): Promise<{ broker: EmbeddedBroker; url: string; published: string[] }> {
  const cfg = parseRelayConfig({ broker: { host: '127.0.0.1', port: 0, plaintext: true, tls: { enabled: false }, ws: { enabled: false } } }).broker;
  const broker = new EmbeddedBroker(cfg, undefined, authenticate, nullLogger());
  const published: string[] = [];
  await broker.start((node, channel, payload) => {
    published.push(`${node} ${channel} ${payload.toString()}`);
  });
  t.after(() => broker.stop());
  return { broker, url: broker.endpoints().mqtt!, published };
}

test("a late CONNECT of an older attempt (named in its Will) is refused; the node's newer session stays, a newer attempt still takes over", { timeout: 120_000 }, async (t) => {
  const { url, broker } = await inProcessBroker(t, async () => true);
  const boot = 'boot-a';
  const current = await connectNode(url, nodeOpts('late-1', 'pw', { will: willMark('late-1', boot, 2) }));
  t.after(() => current.endAsync(true));
  let currentClosed = false;
  current.on('close', () => (currentClosed = true));
  // attempt 1 of the same boot arrives now (the node gave up on it): refused, not a takeover
  await assert.rejects(connectNode(url, nodeOpts('late-1', 'pw', { will: willMark('late-1', boot, 1) })));
  assert.equal((broker.stats() as { abandonedAttemptsRefused: number }).abandonedAttemptsRefused, 1);
  // the live session still works: a QoS1 round trip through the broker
  await current.publishAsync(topics.heartbeat('late-1'), JSON.stringify({ v: 0, q: 0, t: Date.now() }), { qos: 1 });
  assert.equal(currentClosed, false, 'the newer attempt kept its session');
  // attempt 3 is newer: it takes the session over, as MQTT says
  const next = await connectNode(url, nodeOpts('late-1', 'pw', { will: willMark('late-1', boot, 3) }));
  t.after(() => next.endAsync(true));
  await waitFor('the older connection closed by the takeover', () => currentClosed);
  // a new boot starts over at attempt 1 and is not refused
  const reboot = await connectNode(url, nodeOpts('late-1', 'pw', { will: willMark('late-1', 'boot-b', 1) }));
  t.after(() => reboot.endAsync(true));
  assert.equal(reboot.connected, true);
});

test('a CONNECT whose socket the node closed while the relay was checking it is not accepted: no takeover, no Will', { timeout: 120_000 }, async (t) => {
  let hold: ((ok: boolean) => void) | undefined;
  let calls = 0;
  const { url, broker, published } = await inProcessBroker(t, () => {
    calls++;
    // the second check is the abandoned attempt's: it waits until the test lets it go
    return calls === 2 ? new Promise<boolean>((r) => (hold = r)) : Promise.resolve(true);
  });
  // a live session without attempt marks (an older edgehub): only the closed-socket check applies
  const live = await connectNode(url, nodeOpts('gone-1', 'pw'));
  t.after(() => live.endAsync(true));
  let liveClosed = false;
  live.on('close', () => (liveClosed = true));
  // the abandoned attempt: its CONNECT is being checked when the node closes the socket
  const sock = createConnection(Number(new URL(url).port), '127.0.0.1');
  sock.on('error', () => undefined);
  const abandoned = new MqttClient(() => sock, nodeOpts('gone-1', 'pw', { will: { topic: topics.presence('gone-1'), payload: Buffer.from('{"online":false}'), qos: 1, retain: true } }));
  abandoned.on('error', () => undefined);
  await waitFor('the relay checking the abandoned attempt', () => hold);
  await new Promise<void>((r) => sock.end(r)); // FIN sent
  hold!(true); // credentials fine — but the node has gone
  // settled either way: refused (counted) or it took the session over (the live one closes)
  await waitFor('the attempt settled', () => (broker.stats() as { closedBeforeAccepted: number }).closedBeforeAccepted === 1 || liveClosed);
  abandoned.end(true);
  // the live session is intact and the abandoned attempt's Will was never published
  await live.publishAsync(topics.heartbeat('gone-1'), '{"v":0,"q":0,"t":0}', { qos: 1 });
  assert.equal(liveClosed, false);
  assert.deepEqual(published.filter((p) => p.includes('presence')), []);
});
