/**
 * Issue 18, point 7: seeded fuzzing of what a mapper sends the node's eventbus. A real node
 * (metamanager, eventbus with its embedded broker, devicetwin with the built-in virtual driver)
 * and a raw `mqtt` client: FUZZ_CASES (10,000) requests, 32 in flight, on `$hw/events/device/…`
 * (twin/update, twin/get, state/update; both id forms, unknown devices, odd ids) and
 * `$hw/events/node/…/membership/get` — valid messages with one mutation (test/helpers/fuzz.ts),
 * corrupted JSON and raw junk — against a built-in device and a mapper's device. Asserted:
 *
 *  - every request is answered on its result topic (matched by its event_id; a payload that is
 *    not JSON is answered with an empty one, counted per topic), never with 500;
 *  - a message the contract refuses (`parseTwinUpdate`, `parseStateUpdate`) is answered 400;
 *  - no state change: after each window of refused cases the mapper device's twins are as they
 *    were; the built-in device never holds a twin its model does not have; the mapper's device
 *    never more than 256; the node answers a plain twin/get at the end.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { parseJson, parseStateUpdate, parseTwinUpdate } from '../../../src/contract/mapper.js';
import { corrupt, describeCase, fuzzCases, fuzzSeed, mutate, rngFor, type Json, type Rng } from '../../helpers/fuzz.js';
import { tmpDir } from '../../helpers/tmp.js';
import { NODE, startDeviceNode, thermostat, thermostatModel, waitFor } from '../devicetwin/harness.js';

const WINDOW = 32;
type Msg = Record<string, unknown>;
interface Case {
  topic: string;
  result: string;
  payload: Buffer;
  /** the event_id its answer carries ('' when the payload does not parse) */
  ev: string;
  what: string;
  refused: boolean;
}

const mapperModel = {
  protocol: 'acme-fuzz',
  properties: [
    { name: 'temp', type: 'INT', accessMode: 'ReadOnly' },
    { name: 'limit', type: 'INT', accessMode: 'ReadWrite', minimum: '0', maximum: '50' },
    { name: 'mode', type: 'STRING', accessMode: 'ReadWrite' },
  ],
};
const mapperDevice = { deviceModelRef: { name: 'acme' }, nodeName: NODE, protocol: { protocolName: 'acme-fuzz' }, properties: [{ name: 'temp' }, { name: 'limit', desired: { value: '10' } }, { name: 'mode' }] };

/** Would the contract refuse this payload on this kind of topic? (the node must answer 400) */
function contractRefuses(kind: string, payload: Buffer): boolean {
  try {
    const m = parseJson(payload);
    if (kind === 'twin/update') parseTwinUpdate(m);
    if (kind === 'state/update') parseStateUpdate(m);
    return false;
  } catch {
    return true;
  }
}

function drawCase(r: Rng, i: number, devices: string[]): Case {
  const ev = `fz-${i}`;
  if (r.chance(0.05)) {
    const topic = `$hw/events/node/${NODE}/membership/get`;
    return { topic, result: `${topic}/result`, payload: Buffer.from(JSON.stringify({ event_id: ev, timestamp: Date.now() })), ev, what: 'membership/get', refused: false };
  }
  const device = r.pick(devices);
  const id = r.pick([device, `default/${device}`, `default/${device}`, `nope/${device}`, `ghost-${r.int(5)}`, `default/${r.str(8, true).replace(/[^\x21-\x7e]|[#+/]/g, '_') || 'x'}`]);
  const kind = r.pick(['twin/update', 'twin/update', 'twin/update', 'twin/update', 'twin/get', 'state/update', 'state/update']);
  const base: Json =
    kind === 'twin/update'
      ? { event_id: ev, timestamp: Date.now(), twin: r.pick<Json>([{ temp: { actual: { value: String(r.int(100)) }, metadata: { type: 'int' } } }, { limit: { expected: { value: String(r.int(60)) } } }, { mode: { actual: { value: 'eco' } } }, { setpoint: { actual: { value: '31' } } }, { 'fw@v': { actual: { value: '1.2' }, optional: true } }, { 'fw@v': null }])! }
      : kind === 'state/update'
        ? { event_id: ev, timestamp: Date.now(), [r.pick(['state', 'State', 'STATE'])]: r.pick(['online', 'OK', 'Offline', 'unhealthy', 'unknown', 'sleepy']) }
        : { event_id: ev, timestamp: Date.now() };
  let payload: Buffer;
  let what: string;
  const k = r.int(10);
  if (k === 0) {
    payload = r.bytes(r.int(100));
    what = 'raw junk';
  } else if (k <= 2) {
    ({ bytes: payload, what } = corrupt(JSON.stringify(base), r));
  } else {
    const m = mutate(base, r, ['setpoint', 'ghost', 'default/other', '']);
    // the answer is matched by event_id: keep ours unless the mutation was about the message itself
    const v = m.value !== null && typeof m.value === 'object' && !Array.isArray(m.value) ? { ...m.value, event_id: ev } : m.value;
    payload = Buffer.from(JSON.stringify(v));
    what = m.what;
  }
  // what the contract reads of it before anything else (over its size or nesting: nothing, so an empty event_id)
  let answerEv = '';
  try {
    const m = parseJson(payload);
    answerEv = typeof m.event_id === 'string' ? m.event_id : '';
  } catch {
    /* answered with an empty event_id */
  }
  const topic = `$hw/events/device/${id}/${kind}`;
  return { topic, result: `${topic}/result`, payload, ev: answerEv, what: `${kind} ${what}`, refused: kind !== 'twin/get' && contractRefuses(kind, payload) };
}

test('fuzz: mapper messages to the node eventbus (embedded broker, built-in and mapper devices)', async (t) => {
  const seed = fuzzSeed('eventbus-mapper');
  const total = fuzzCases();
  const node = await startDeviceNode({ dir: tmpDir(t) });
  t.after(() => node.stop());
  await node.apply('DeviceModel', 'thermostat', thermostatModel);
  await node.apply('Device', 'thermo', thermostat({ setpoint: '30' }));
  await node.apply('DeviceModel', 'acme', mapperModel);
  await node.apply('Device', 'acme', mapperDevice);
  const twins = async (name: string): Promise<Record<string, { expected?: { value: string }; actual?: { value: string } }>> =>
    (await node.probe.request('devicetwin', { type: 'twin.get', device: { namespace: 'default', name } })).twins as Record<string, { expected?: { value: string } }>;
  await waitFor('the built-in device reads its setpoint', async () => (await twins('thermo')).setpoint?.actual?.value === '30' || undefined);
  const model = new Set(thermostatModel.properties.map((p) => p.name));

  const c = await mqtt.connectAsync(node.url, { reconnectPeriod: 0, clientId: `fuzz-mapper-${process.pid}` });
  t.after(() => c.endAsync(true));
  const answers = new Map<string, Msg>();
  const anonymous = new Map<string, number>();
  c.on('message', (topic, payload) => {
    let body: Msg;
    try {
      body = JSON.parse(payload.toString()) as Msg;
    } catch {
      body = { unparsable: payload.toString('hex').slice(0, 80) };
    }
    const ev = typeof body.event_id === 'string' ? body.event_id : '';
    if (ev) answers.set(`${topic} ${ev}`, body);
    else anonymous.set(topic, (anonymous.get(topic) ?? 0) + 1);
  });
  await c.subscribeAsync(['$hw/events/device/+/+/result', '$hw/events/device/+/+/+/result', '$hw/events/device/+/+/+/+/result', `$hw/events/node/${NODE}/membership/get/result`], { qos: 1 });
  const expectedAnonymous = new Map<string, number>();
  const started = process.hrtime.bigint();
  let refusedCount = 0;

  for (let from = 0; from < total; from += WINDOW) {
    const refusalWindow = (from / WINDOW) % 2 === 1;
    const cases: Case[] = [];
    for (let j = 0; j < Math.min(WINDOW, total - from); j++) {
      let k = drawCase(rngFor(seed, (from + j) * 64), from + j, ['thermo', 'acme']);
      // over the broker's packet limit the connection closes (hostile-mapper.test.ts): drawn again
      for (let a = 1; (k.payload.length > 200 * 1024 || (refusalWindow && !k.refused)) && a < 64; a++) k = drawCase(rngFor(seed, (from + j) * 64 + a), from + j, ['thermo', 'acme']);
      cases.push(k);
    }
    const before = refusalWindow && cases.every((k) => k.refused) ? JSON.stringify(await twins('acme')) : undefined;
    for (const k of cases) {
      if (!k.ev) expectedAnonymous.set(k.result, (expectedAnonymous.get(k.result) ?? 0) + 1);
      c.publish(k.topic, k.payload, { qos: 1 });
    }
    for (const [j, k] of cases.entries()) {
      const fail = (why: string): never => assert.fail(`${why}\n${describeCase('eventbus-mapper', seed, from + j, k)}`);
      if (!k.ev) continue;
      const a = await waitFor(`answer to case ${from + j}`, () => answers.get(`${k.result} ${k.ev}`), 10_000).catch(() => fail('no answer on its result topic'));
      if (a.code === 500) fail(`answered 500: ${JSON.stringify(a)}`);
      if (k.refused) {
        refusedCount++;
        if (a.code !== 400) fail(`the contract refuses it, the node answered ${JSON.stringify(a).slice(0, 300)}`);
      }
    }
    for (const [topic, n] of expectedAnonymous) await waitFor(`${n} answers without event_id on ${topic}`, () => (anonymous.get(topic) ?? 0) >= n || undefined, 10_000).catch(() => assert.fail(`${topic}: ${anonymous.get(topic) ?? 0} of ${n} anonymous answers (cases ${from}..); FUZZ_SEED=${seed}`));
    if (before !== undefined) assert.equal(JSON.stringify(await twins('acme')), before, `a window of refused cases changed the mapper device's twins (cases ${from}..${from + cases.length - 1}); FUZZ_SEED=${seed}`);
    const built = Object.keys(await twins('thermo'));
    assert.ok(built.every((n) => model.has(n)), `the built-in device holds twins its model lacks: ${built.join(', ')}; FUZZ_SEED=${seed}`);
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  assert.ok(Object.keys(await twins('acme')).length <= 256);
  for (const [topic, n] of expectedAnonymous) assert.equal(anonymous.get(topic) ?? 0, n, `exactly one answer per unparsable message on ${topic}`);
  const last = await node.probe.request('devicetwin', { type: 'twin.get', device: { namespace: 'default', name: 'thermo' } });
  assert.ok('setpoint' in last.twins);
  console.log(`# fuzz eventbus-mapper: ${total} cases (${refusedCount} refused by the contract) in ${ms.toFixed(0)} ms; seed ${seed}`);
});
