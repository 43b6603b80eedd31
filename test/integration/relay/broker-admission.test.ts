/**
 * Who the embedded broker lets in (src/relay/broker/admission.ts): the connection cap keeps the
 * API answering and counts every listener (a real relay process); a late CONNECT of an attempt
 * the node abandoned never takes over the node's live session — whether the node named its
 * attempts in the Will (edgehub does) or the abandoned socket was closed while the broker checked
 * it (the broker in this process, with an authenticator the test holds).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import mqtt, { MqttClient, type IClientOptions } from 'mqtt';
import { parse, stringify } from 'yaml';
import { topics } from '../../../src/contract/topics.js';
import { nullLogger } from '../../../src/core/logger.js';
import { EmbeddedBroker, type Authenticator } from '../../../src/relay/broker/embedded.js';
import { parseRelayConfig } from '../../../src/relay/config.js';
import { tmpDir } from '../../helpers/tmp.js';
import { freePort, RelayProc, waitFor } from './harness.js';

async function relayWith(t: TestContext, broker: Record<string, unknown>): Promise<RelayProc> {
  const dir = tmpDir(t, 'edgecore-relay-admission-');
  const relay = new RelayProc({ dir, ports: { api: await freePort(), mqtt: await freePort(), ws: await freePort() } });
  const cfg = parse(readFileSync(relay.configFile, 'utf8')) as { broker: Record<string, unknown>; log: Record<string, unknown> };
  Object.assign(cfg.broker, broker);
  cfg.log.level = 'debug';
  writeFileSync(relay.configFile, stringify(cfg));
  t.after(() => relay.stop('SIGKILL'));
  await relay.start();
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

test('the connection cap closes connections beyond it on every listener, and the API keeps answering', { timeout: 120_000 }, async (t) => {
  const relay = await relayWith(t, { maxConnections: 3 });
  const ep = await endpoints(relay);
  const [a, b, c, d] = [await relay.join('cap-a'), await relay.join('cap-b'), await relay.join('cap-c'), await relay.join('cap-d')];
  const ca = await connectNode(ep.mqtt!, nodeOpts('cap-a', a.password));
  const cb = await connectNode(ep.ws!, nodeOpts('cap-b', b.password));
  const cc = await connectNode(ep.mqtt!, nodeOpts('cap-c', c.password));
  t.after(() => Promise.all([ca.endAsync(true), cb.endAsync(true)]));
  // full: a fourth connection is closed at once, over TCP and over WebSocket
  await closedByRelay(ep.mqtt!);
  await closedByRelay(ep.ws!.replace(/^ws/, 'http'));
  await assert.rejects(connectNode(ep.mqtt!, nodeOpts('cap-d', d.password)), /closed before CONNACK|ECONNRESET/);
  const health = await fetch(relay.api + '/healthz');
  assert.equal(health.status, 200, 'the API answers at the cap');
  await relay.http('GET', '/api/v1/nodes');
  // a freed slot is usable again; the nodes already connected were never touched
  await cc.endAsync(true);
  const cd = await waitFor('a free slot', () => connectNode(ep.mqtt!, nodeOpts('cap-d', d.password)).catch(() => undefined));
  t.after(() => cd.endAsync(true));
  assert.equal(ca.connected && cb.connected, true);
});

/** the embedded broker in this process, with an authenticator the test controls */
async function inProcessBroker(t: TestContext, authenticate: Authenticator): Promise<{ broker: EmbeddedBroker; url: string; published: string[] }> {
  const cfg = parseRelayConfig({ broker: { host: '127.0.0.1', port: 0, ws: { enabled: false } } }).broker;
  const broker = new EmbeddedBroker(cfg, authenticate, nullLogger());
  const published: string[] = [];
  await broker.start((node, channel, payload) => published.push(`${node} ${channel} ${payload.toString()}`));
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
