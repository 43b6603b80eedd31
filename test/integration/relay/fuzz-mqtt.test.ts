/**
 * Issue 18: seeded fuzzing of what a node may send the relay over MQTT. A real `edgerelay`
 * process (embedded broker, plain TCP), nodes joined through the API and publishing with their
 * own credentials: four fuzzing nodes publish FUZZ_CASES (10,000) cases on their uplink channels
 * (NODE_PUBLISHES) — valid shapes with one mutation (wrong types, huge strings, deep nesting,
 * unknown fields, other nodes' names, far-future timestamps, invalid UTF-8, truncated JSON) and
 * raw junk — and one more node tries topics it may not publish (desired, rpc/request, other
 * nodes' channels, retained reports, topics outside the contract). Asserted:
 *
 *  - no crash: the process stays up; /healthz answers 200 after every batch; the relay logs no error;
 *  - a clear refusal: a forbidden topic closes the sender's connection before any PUBACK; a
 *    payload the contract's schema refuses is refused by the node link and counted — the
 *    refusals the relay logs per node (`refusedSoFar`: the first 16, then powers of two) are
 *    exactly those of the cases the test expected refused;
 *  - no state change: the store revision is unchanged across every batch of cases that must be
 *    refused; another node's Node and Pod never change; retained messages stay the contract's.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { heartbeatSchema, nodeReportedStatusSchema, PAYLOAD_MAX_DEPTH, presenceSchema, reportedStateSchema, reportedTelemetrySchema, rpcResponseSchema, syncRequestSchema } from '../../../src/contract/payloads.js';
import { oversize } from '../../../src/contract/limits.js';
import { NODE_PUBLISHES, topics, type NodeChannel } from '../../../src/contract/topics.js';
import { corrupt, describeCase, fuzzCases, fuzzSeed, mutate, rngFor, type Json, type Rng } from '../../helpers/fuzz.js';
import { nestedDeeperThan } from '../../../src/lib/json.js';
import { tmpDir } from '../../helpers/tmp.js';
import { RelayProc, relayPorts, waitFor, type Joined } from './harness.js';

const BATCH = 200;
const WINDOW = 16;
type Case = { node: number; topic: string; channel: NodeChannel | 'forbidden'; qos: 0 | 1; retain: boolean; payload: Buffer; what: string; refused: boolean };

/** What the contract says of a payload on a channel: refused (true) or not. The relay must agree. */
function contractRefuses(channel: NodeChannel, payload: Buffer): boolean {
  // frames: the stream layer's; app messages: the app channel's (its own refusal log): not the node link's count
  if (channel === 'stream/up' || channel === 'app/up' || channel === 'app/ack') return false;
  if (oversize(channel, payload.length)) return true;
  if (channel === 'presence' && payload.length === 0) return false; // a cleared retained presence
  let v: unknown;
  try {
    v = JSON.parse(payload.toString('utf8'));
  } catch {
    return true;
  }
  const schema = { heartbeat: heartbeatSchema, presence: presenceSchema, sync: syncRequestSchema, 'reported/state': reportedStateSchema, 'reported/telemetry': reportedTelemetrySchema, 'rpc/response': rpcResponseSchema }[channel as string];
  if (!schema) return false;
  if (nestedDeeperThan(v, PAYLOAD_MAX_DEPTH)) return true;
  const r = schema.safeParse(v);
  if (!r.success) return true;
  const m = r.data as { kind?: string; status?: unknown };
  return channel === 'reported/state' && m.kind === 'Node' && !nodeReportedStatusSchema.safeParse(m.status).success;
}

function valid(channel: NodeChannel, node: string, pod: string, now: number, r: Rng): Json {
  const up = { namespace: 'default', desiredVersion: 1, timestamp: now };
  switch (channel) {
    case 'heartbeat':
      return { v: 1, q: 0, t: now };
    case 'presence':
      return { online: r.chance(0.8), bootId: 'boot', agentVersion: 'fuzz', timestamp: now };
    case 'sync':
      return { epoch: 'e', appliedVersion: 0, bootId: 'boot', timestamp: now };
    case 'reported/state':
      return r.chance(0.3)
        ? { ...up, kind: 'Node', namespace: '', name: node, status: { appliedVersion: 1, epoch: 'e', agentVersion: '1', bootId: 'b', arch: 'x64', platform: 'linux', outbox: { rows: 0, dropped: 0 }, conditions: [{ type: 'MemoryPressure', status: 'False', reason: 'Fine', lastTransitionTime: '2026-01-01T00:00:00Z' }] } }
        : { ...up, kind: 'Pod', name: pod, status: { phase: 'Running', podIP: '10.0.0.1', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'c', ready: true, restartCount: 0, image: 'busybox', imageID: 'docker://sha256:0123', state: { running: { startedAt: '2026-01-01T00:00:00Z' } } }] } };
    case 'reported/telemetry':
      return r.chance(0.5)
        ? { ...up, kind: 'Device', name: 'dev', event: 'twin.reported', data: { property: 't', value: '21' }, seq: 1 + r.int(1e6), stream: 's' }
        : { ...up, kind: 'Pod', name: pod, event: 'object.event', data: { type: 'Normal', reason: 'Started', message: 'started' } };
    case 'rpc/response':
      return { id: `rpc-${r.int(1000)}`, n: 0, done: true, data: { twins: {} } };
    case 'app/up':
      return { topic: r.pick(['sensors/t', 'a/b/c', 'x']), payload: 'hello', time: now, seq: 1 + r.int(1e6), stream: 's' };
    case 'app/ack':
      return { stream: 's', id: 1 + r.int(1000), outcome: r.pick(['delivered', 'expired', 'failed']), time: now };
    case 'mesh/request':
      return { id: r.bytes(16).toString('hex'), peer: node };
    default:
      return { junk: true };
  }
}

type Names = { fuzzers: string[]; pods: string[]; forbidder: string; other: string; otherPod: string };

/**
 * Case i of the run. In a refusal batch (every other batch) a case is drawn again, from its own
 * sub-streams, until the contract refuses it: those batches must leave the store's revision alone.
 */
function makeCase(seed: number, i: number, names: Names, now: number, mustRefuse: boolean): Case {
  for (let a = 0; ; a++) {
    const k = drawCase(rngFor(seed, i * 64 + a), names, now);
    if (!mustRefuse || k.refused || a === 63) return k;
  }
}

function drawCase(r: Rng, names: Names, now: number): Case {
  const node = r.int(names.fuzzers.length);
  const me = names.fuzzers[node]!;
  if (r.chance(0.04)) {
    const f = names.forbidder;
    const [topic, retain] = r.pick<[string, boolean]>([
      [topics.desired(f), r.chance(0.5)],
      [topics.rpcRequest(f), false],
      [topics.streamDown(f), false],
      [topics.appDown(f), false],
      [topics.appRoutes(f), r.chance(0.5)],
      [topics.appUp(names.other), false],
      [`edgecore/v1/apps/default/down/${f}/x`, false],
      [topics.reportedState(names.other), false],
      [topics.presence(names.other), true],
      [topics.desired(names.other), true],
      [topics.reportedState(f), true],
      [topics.heartbeat(f), true],
      [`${topics.nodeRoot(f)}/junk`, false],
      [`${topics.reportedState(f)}/x`, false],
      ['$SYS/broker', false],
      [`edgecore/v1/nodes/${f}`, false],
      [`edgecore/v2/nodes/${f}/sync`, false],
    ]);
    return { node: -1, topic, channel: 'forbidden', qos: 1, retain, payload: Buffer.from(JSON.stringify(valid('sync', f, '', now, r))), what: 'forbidden topic', refused: true };
  }
  const channel = r.pick(NODE_PUBLISHES);
  const base = valid(channel, me, names.pods[node]!, now, r);
  let payload: Buffer;
  let what: string;
  const k = r.int(10);
  // a report about another node's object (its Node, its Pod): valid in every other way
  const foreign = (channel === 'reported/state' || channel === 'reported/telemetry') && r.chance(0.2);
  if (foreign) {
    const b = base as Record<string, Json>;
    b.name = b.kind === 'Node' ? names.other : names.otherPod;
  }
  if (foreign && k < 5) {
    payload = Buffer.from(JSON.stringify(base));
    what = "about another node's object";
  } else if (channel === 'stream/up' || k === 0) {
    payload = r.bytes(r.int(r.chance(0.05) ? 70_000 : 200));
    what = 'raw junk';
  } else if (k <= 2) {
    ({ bytes: payload, what } = corrupt(JSON.stringify(base), r));
  } else if (k === 3) {
    payload = Buffer.alloc(0);
    what = 'empty';
  } else {
    const m = mutate(base, r, [names.other, names.otherPod, 'kube-system', '']);
    payload = Buffer.from(JSON.stringify(m.value));
    what = m.what;
  }
  const retain = channel === 'presence' && r.chance(0.5);
  // presence, the one message a broker keeps, is held to its size by the embedded broker itself: closed, not counted
  if (channel === 'presence' && oversize('presence', payload.length)) return { node: -1, topic: topics.presence(names.forbidder), channel: 'forbidden', qos: 1, retain, payload, what: `${what} (presence over its size)`, refused: true };
  return { node, topic: topics[channelKey(channel)](me), channel, qos: channel === 'heartbeat' && r.chance(0.5) ? 0 : 1, retain, payload, what, refused: contractRefuses(channel, payload) };
}

// every channel has its topic here (typed: a new channel fails to compile until added)
const CHANNEL_TOPIC: Record<NodeChannel, keyof typeof topics> = { sync: 'sync', 'reported/state': 'reportedState', 'reported/telemetry': 'reportedTelemetry', presence: 'presence', heartbeat: 'heartbeat', 'rpc/response': 'rpcResponse', 'stream/up': 'streamUp', 'mesh/request': 'meshRequest', 'app/up': 'appUp', 'app/ack': 'appAck', desired: 'desired', 'rpc/request': 'rpcRequest', 'app/down': 'appDown', 'app/routes': 'appRoutes', 'stream/down': 'streamDown' };

function channelKey(c: NodeChannel): keyof typeof topics {
  return CHANNEL_TOPIC[c];
}

/** QoS 1: 'acknowledged' on PUBACK, 'closed' when the broker closes first; QoS 0: 'sent'. */
function publish(c: MqttClient, k: Case): Promise<string> {
  return new Promise((resolve) => {
    const onClose = (): void => resolve('closed');
    c.once('close', onClose);
    c.publish(k.topic, k.payload, { qos: k.qos, retain: k.retain }, (err) => {
      c.off('close', onClose);
      resolve(err ? `error: ${err.message}` : k.qos === 0 ? 'sent' : 'acknowledged');
    });
  });
}

const connectAs = (url: string, j: Joined): Promise<MqttClient> =>
  mqtt.connectAsync(url, { clientId: j.username, username: j.username, password: j.password, reconnectPeriod: 0, clean: true, protocolVersion: 4 }).then((c) => c.setMaxListeners(WINDOW * 4) && c);

/** The refusal counts the relay logged for a node (`refusedSoFar` of 'refused a malformed message'). */
function loggedRefusals(lines: string[], node: string): number[] {
  return lines.filter((l) => l.includes('"msg":"refused a malformed message"') && l.includes(`"node":"${node}"`)).map((l) => (JSON.parse(l) as { refusedSoFar: number }).refusedSoFar);
}
/** What the relay logs after n refusals: 1..16, then every power of two. */
const expectedLog = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1).filter((x) => x <= 16 || (x & (x - 1)) === 0);

test('fuzz: MQTT inputs of the relay (embedded broker, real node credentials)', async (t) => {
  const seed = fuzzSeed('relay-mqtt');
  const total = fuzzCases();
  const relay = new RelayProc({ dir: tmpDir(t, 'edgecore-fuzz-mqtt-'), ports: await relayPorts(), plaintext: true, nodes: { notReadyAfterSeconds: 3600, telemetryBurst: 1_000_000, telemetryRatePerSecond: 1_000_000 } });
  t.after(() => relay.stop('SIGKILL'));
  await relay.start();
  const url = ((await relay.proc!.record('edgerelay ready')).broker as Record<string, string>).mqtt!;
  const tag = `${process.pid}-${seed % 10_000}`;
  const fuzzers = [0, 1, 2, 3].map((i) => `fz${i}-${tag}`);
  const names = { fuzzers, pods: fuzzers.map((n) => `pod-${n}`), forbidder: `fzf-${tag}`, other: `other-${tag}`, otherPod: `pod-other-${tag}` };
  const joins = await Promise.all(fuzzers.map((n) => relay.join(n)));
  const forbidderJoin = await relay.join(names.forbidder);
  await relay.join(names.other);
  const pod = (name: string, node: string): Json => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { nodeName: node, containers: [{ name: 'c', image: 'busybox' }] } });
  for (const [i, n] of fuzzers.entries()) await relay.http('POST', '/api/v1/namespaces/default/pods', pod(names.pods[i]!, n));
  await relay.http('POST', '/api/v1/namespaces/default/pods', pod(names.otherPod, names.other));

  const revision = async (): Promise<string> => (await relay.http<{ metadata: { resourceVersion: string } }>('GET', '/api/v1/namespaces?limit=1')).metadata.resourceVersion;
  const otherState = async (): Promise<string> =>
    JSON.stringify([await relay.http('GET', `/api/v1/nodes/${names.other}`), await relay.http('GET', `/api/v1/namespaces/default/pods/${names.otherPod}`), await relay.telemetry(names.other)]);
  const otherBefore = await otherState();
  const clients = await Promise.all(joins.map((j) => connectAs(url, j)));
  t.after(() => Promise.all(clients.map((c) => c.endAsync(true))));
  let forbidder = await connectAs(url, forbidderJoin);
  t.after(() => forbidder.endAsync(true));
  const refusedPer = fuzzers.map(() => 0);
  const now = Date.now();
  const started = process.hrtime.bigint();
  const fail = (i: number, k: Case, why: string): never => assert.fail(`${why}\n${describeCase('relay-mqtt', seed, i, { ...k, node: k.node < 0 ? names.forbidder : fuzzers[k.node] })}`);

  for (let from = 0; from < total; from += BATCH) {
    const refusalBatch = (from / BATCH) % 2 === 1;
    const cases = Array.from({ length: Math.min(BATCH, total - from) }, (_, j) => makeCase(seed, from + j, names, now, refusalBatch));
    const allRefused = cases.every((k) => k.refused);
    const before = allRefused ? await revision() : '';
    // each fuzzing node: its cases in order, WINDOW in flight; the forbidden ones one by one on their own node
    const lanes = fuzzers.map((_, n) => cases.map((k, j) => [from + j, k] as const).filter(([, k]) => k.node === n));
    await Promise.all([
      ...lanes.map(async (lane, n) => {
        for (let w = 0; w < lane.length; w += WINDOW) {
          const part = lane.slice(w, w + WINDOW);
          const outcomes = await Promise.all(part.map(([, k]) => publish(clients[n]!, k)));
          part.forEach(([i, k], x) => {
            if (outcomes[x] === 'closed' || outcomes[x]!.startsWith('error')) fail(i, k, `the relay closed a node for a payload on its own channel: ${outcomes[x]}`);
            if (k.refused) refusedPer[n]!++;
          });
        }
      }),
      (async () => {
        for (const [j, k] of cases.entries()) {
          if (k.node !== -1) continue;
          const outcome = await publish(forbidder, k);
          if (outcome !== 'closed') fail(from + j, k, `a forbidden publish was ${outcome}, not closed`);
          forbidder = await connectAs(url, forbidderJoin);
        }
      })(),
    ]);
    if (relay.proc!.child.exitCode !== null) assert.fail(`the relay exited (${relay.proc!.child.exitCode}) in cases ${from}..${from + cases.length - 1}; FUZZ_SEED=${seed}`);
    assert.equal((await fetch(`${relay.api}/healthz`)).status, 200, `healthz after cases ${from}..; FUZZ_SEED=${seed}`);
    if (allRefused) assert.equal(await revision(), before, `a batch of refused cases changed the store (cases ${from}..${from + cases.length - 1}); FUZZ_SEED=${seed}`);
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;

  for (const [n, node] of fuzzers.entries()) {
    const want = expectedLog(refusedPer[n]!);
    await waitFor(`refusals of ${node} logged: ${want.length}`, () => loggedRefusals(relay.proc!.lines, node).length >= want.length || undefined, 30_000);
    assert.deepEqual(loggedRefusals(relay.proc!.lines, node), want, `${node}: the relay counts exactly the refused cases (${refusedPer[n]}); FUZZ_SEED=${seed}`);
  }
  assert.equal(await otherState(), otherBefore, `another node's Node, Pod and telemetry never change; FUZZ_SEED=${seed}`);
  // retained on a node's subtree: only what the contract keeps (the relay's desired, presence)
  const retained: string[] = [];
  const peek = await connectAs(url, forbidderJoin);
  forbidder = peek;
  peek.on('message', (topic, _p, packet) => packet.retain && retained.push(topic));
  await peek.subscribeAsync(`${topics.nodeRoot(names.forbidder)}/#`, { qos: 1 });
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(retained.every((x) => x === topics.desired(names.forbidder) || x === topics.presence(names.forbidder)), `retained: ${retained.join(', ')}`);
  const errors = relay.proc!.lines.filter((l) => l.includes('"level":"error"') || l.includes('"level":"fatal"'));
  assert.deepEqual(errors.slice(0, 5), [], `the relay logged errors; FUZZ_SEED=${seed}`);
  assert.equal((await fetch(`${relay.api}/healthz`)).status, 200);
  const refused = refusedPer.reduce((a, b) => a + b, 0);
  console.log(`# fuzz relay-mqtt: ${total} cases (${refused} refused by the contract, ${total - refused} accepted or ignored) in ${ms.toFixed(0)} ms; seed ${seed}`);
});
