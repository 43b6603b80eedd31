/**
 * KubeEdge mapper conformance: a raw `mqtt` client plays a mapper against the eventbus — both
 * device id forms, every topic, bad payloads → the right error code. Run once against the
 * embedded aedes broker (ephemeral port) and once against the external mosquitto.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { MQTT_URL, needMqtt } from '../../helpers/mqtt.js';
import { tmpDir } from '../../helpers/tmp.js';
import { startDeviceNode, thermostat, thermostatModel, waitFor, type DeviceNode } from '../devicetwin/harness.js';

type Msg = Record<string, unknown>;

class Mapper {
  private readonly seen: { topic: string; body: Msg }[] = [];
  constructor(readonly c: MqttClient) {
    c.on('message', (topic, payload) => {
      try {
        this.seen.push({ topic, body: JSON.parse(payload.toString()) as Msg });
      } catch {
        this.seen.push({ topic, body: { unparsable: payload.toString() } });
      }
    });
  }
  static async connect(url: string): Promise<Mapper> {
    return new Mapper(await mqtt.connectAsync(url, { reconnectPeriod: 0, clientId: `mapper-${randomBytes(4).toString('hex')}` }));
  }
  async sub(filter: string): Promise<void> {
    await this.c.subscribeAsync(filter, { qos: 1 });
  }
  /** publish and wait for the next message on `resultTopic` carrying our event_id */
  async ask(topic: string, payload: Msg | string, resultTopic: string): Promise<Msg> {
    const ev = typeof payload === 'string' ? '' : String(payload.event_id ?? '');
    const from = this.seen.length;
    await this.c.publishAsync(topic, typeof payload === 'string' ? payload : JSON.stringify(payload));
    return waitFor(`reply on ${resultTopic}`, () => this.seen.slice(from).find((m) => m.topic === resultTopic && (!ev || m.body.event_id === ev))?.body);
  }
  next(topic: string, pred: (b: Msg) => boolean = () => true, from = 0): Promise<Msg> {
    return waitFor(`message on ${topic}`, () => this.seen.slice(from).find((m) => m.topic === topic && pred(m.body))?.body);
  }
  get count(): number {
    return this.seen.length;
  }
}

const ev = (): string => randomBytes(6).toString('hex');
const ts = (): number => Date.now();

/** A model served by an external mapper (no built-in driver for its protocol). */
const mapperModel = {
  protocol: 'acme-modbus-tcp',
  properties: [
    { name: 'temp', type: 'INT', accessMode: 'ReadOnly' },
    { name: 'limit', type: 'INT', accessMode: 'ReadWrite', minimum: '0', maximum: '50' },
    { name: 'mode', type: 'STRING', accessMode: 'ReadWrite' },
  ],
};
const mapperDevice = (extra: Msg = {}) => ({
  deviceModelRef: { name: 'acme' },
  protocol: { protocolName: 'acme-modbus-tcp', configData: { ip: '10.0.0.5', port: 502 } },
  properties: [{ name: 'temp', reportToCloud: true }, { name: 'limit', ...extra }, { name: 'mode' }],
});

async function conformance(t: TestContext, node: DeviceNode, nodeName: string): Promise<void> {
  const suffix = randomBytes(3).toString('hex');
  const legacy = `acme-${suffix}`; // namespace default: reachable as {name} and default/{name}
  const ns = `plant-${suffix}`;
  const nsName = `press-${suffix}`; // namespace plant-…: reachable as {ns}/{name}
  const m = await Mapper.connect(node.url);
  t.after(() => m.c.endAsync(true));
  await m.sub(`$hw/events/device/#`);
  await m.sub(`$hw/events/node/${nodeName}/#`);
  await m.sub(`$ke/events/device/#`);

  // membership/updated when devices arrive
  const mark = m.count;
  await node.apply('DeviceModel', 'acme', mapperModel);
  await node.apply('Device', legacy, mapperDevice({ desired: { value: '10' } }));
  await node.apply('DeviceModel', 'acme', mapperModel, ns);
  await node.apply('Device', nsName, mapperDevice(), ns);
  const upd = await m.next(`$hw/events/node/${nodeName}/membership/updated`, (b) => (b.added_devices as Msg[]).some((d) => d.name === nsName), mark);
  const added = (upd.added_devices as Msg[]).find((d) => d.name === nsName)!;
  assert.equal(added.id, `${ns}/${nsName}`);
  assert.equal(typeof upd.timestamp, 'number');
  assert.ok(added.twin && typeof added.attributes === 'object');

  // membership/get
  const mg = await m.ask(`$hw/events/node/${nodeName}/membership/get`, { event_id: ev(), timestamp: ts() }, `$hw/events/node/${nodeName}/membership/get/result`);
  const names = (mg.devices as Msg[]).map((d) => d.name);
  assert.ok(names.includes(legacy) && names.includes(nsName), JSON.stringify(names));
  const d0 = (mg.devices as Msg[]).find((d) => d.name === legacy)!;
  for (const k of ['id', 'name', 'description', 'state', 'last_online', 'attributes']) assert.ok(k in d0, `membership device has ${k}`);

  // delta for the spec's desired value (expected 10, no actual yet), on both id forms
  const delta = await m.next(`$hw/events/device/${legacy}/twin/update/delta`, (b) => (b.delta as Msg)?.limit === '10');
  assert.equal(((delta.twin as Msg).limit as Msg & { expected: Msg }).expected.value, '10');
  await m.next(`$hw/events/device/default/${legacy}/twin/update/delta`, (b) => (b.delta as Msg)?.limit === '10');

  for (const [id, name, value] of [
    [legacy, legacy, '21'],
    [`default/${legacy}`, legacy, '23'],
    [`${ns}/${nsName}`, nsName, '23'],
  ] as const) {
    const base = `$hw/events/device/${id}`;
    // twin/update: the mapper reports actual values (strings), as mappers-go does
    const e1 = ev();
    const docFrom = m.count;
    const r = await m.ask(`${base}/twin/update`, { event_id: e1, timestamp: ts(), twin: { temp: { actual: { value } , metadata: { type: 'int' } } } }, `${base}/twin/update/result`);
    assert.equal(r.event_id, e1);
    assert.equal(typeof r.timestamp, 'number');
    assert.ok(r.twin, `a twin result, not an error: ${JSON.stringify(r)}`);
    const twin = (r.twin as Record<string, Msg>).temp!;
    assert.equal((twin.actual as Msg).value, value);
    assert.equal(typeof ((twin.actual as Msg).metadata as Msg).timestamp, 'number');
    assert.deepEqual(twin.metadata, { type: 'int' });
    assert.ok(!('expected_version' in twin) && !('actual_version' in twin), 'results strip versions');
    // the document shows last/current
    const doc = await m.next(`$hw/events/device/${id.includes('/') ? id : `default/${id}`}/twin/update/document`, (b) => 'temp' in (b.twin as Msg), docFrom);
    const dt = (doc.twin as Record<string, { last: Msg | null; current: Msg }>).temp!;
    assert.equal((dt.current.actual as Msg).value, value);
    assert.equal(doc.event_id, e1, 'the document carries the event_id of the update');
    // expected ≠ actual (limit: 10, nothing read yet): the delta again after every twin message,
    // so a mapper that missed one at QoS 0 gets the next
    if (name === legacy) await m.next(`$hw/events/device/${id}/twin/update/delta`, (b) => (b.delta as Msg)?.limit === '10', docFrom);
    // twin/get
    const g = await m.ask(`${base}/twin/get`, { event_id: ev(), timestamp: ts() }, `${base}/twin/get/result`);
    assert.equal((((g.twin as Record<string, Msg>).temp!.actual) as Msg).value, value);
    assert.ok('limit' in (g.twin as Msg) && 'mode' in (g.twin as Msg));
    // state/update, with the key as edgecore's DMI bridge writes it ("State")
    // ... in any case: KubeEdge answers with the mapper's own spelling
    const spelled = name === legacy ? 'Online' : 'online';
    const s = await m.ask(`${base}/state/update`, { event_id: ev(), timestamp: ts(), State: spelled }, `${base}/state/update/result`);
    assert.equal((s.device as Msg).name, name);
    assert.equal((s.device as Msg).state, spelled);
    assert.ok(!Number.isNaN(Date.parse(String((s.device as Msg).lastOnlineTime))), 'lastOnlineTime is RFC3339');
  }

  // an update that changes nothing still brings the pending delta again
  const base = `$hw/events/device/${legacy}`;
  const again = m.count;
  await m.ask(`${base}/twin/update`, { event_id: ev(), timestamp: ts(), twin: {} }, `${base}/twin/update/result`);
  await m.next(`${base}/twin/update/delta`, (b) => (b.delta as Msg)?.limit === '10', again);
  const mg2 = await m.ask(`$hw/events/node/${nodeName}/membership/get`, { event_id: ev(), timestamp: ts() }, `$hw/events/node/${nodeName}/membership/get/result`);
  assert.equal((mg2.devices as Msg[]).find((d) => d.name === legacy)?.state, 'Online', 'membership shows the spelling of the mapper');
  // the mapper confirms the desired value: delta gone, reported upstream
  await m.ask(base + '/twin/update', { event_id: ev(), timestamp: ts(), twin: { limit: { actual: { value: '10' }, metadata: { type: 'int' } } } }, base + '/twin/update/result');
  const g = await node.probe.request('devicetwin', { type: 'twin.get', device: { namespace: 'default', name: legacy } });
  assert.deepEqual(g.delta, {});
  // an app sets an expected value through MQTT → delta for the mapper
  const from = m.count;
  await m.ask(base + '/twin/update', { event_id: ev(), timestamp: ts(), twin: { mode: { expected: { value: 'eco' } } } }, base + '/twin/update/result');
  await m.next(`${base}/twin/update/delta`, (b) => (b.delta as Msg)?.mode === 'eco', from);
  // mapper-added optional twin, then deleted with null
  await m.ask(base + '/twin/update', { event_id: ev(), timestamp: ts(), twin: { 'fw@v': { actual: { value: '1.2.3' }, optional: true } } }, base + '/twin/update/result');
  await m.ask(base + '/twin/update', { event_id: ev(), timestamp: ts(), twin: { 'fw@v': null } }, base + '/twin/update/result');
  const g2 = await node.probe.request('devicetwin', { type: 'twin.get', device: { namespace: 'default', name: legacy } });
  assert.ok(!('fw@v' in g2.twins));

  // ---------------------------------------------------------------- errors
  const err = async (topic: string, payload: Msg | string, code: number, reason?: RegExp): Promise<void> => {
    const e = ev();
    const body = typeof payload === 'string' ? payload : { event_id: e, timestamp: ts(), ...payload };
    const resultTopic = topic.endsWith('/twin/update') ? `${topic}/result` : `${topic}/result`;
    const r = await m.ask(topic, body, resultTopic);
    assert.equal(r.code, code, `${topic} ${JSON.stringify(payload)} → ${JSON.stringify(r)}`);
    assert.equal(typeof r.reason, 'string');
    if (typeof payload !== 'string') assert.equal(r.event_id, e);
    if (reason) assert.match(String(r.reason), reason);
  };
  const up = `${base}/twin/update`;
  await err(up, 'not json {', 400, /JSON/);
  await err(up, {}, 400, /twin: missing/);
  await err(up, { twin: { 'bad key!': { actual: { value: '1' } } } }, 400, /name does not match/);
  await err(up, { twin: { temp: { actual: { value: 'has space' } } } }, 400, /does not match/);
  await err(up, { twin: { temp: { actual: { value: 23 } } } }, 400, /must be a string/);
  await err(up, { twin: { temp: { actual: { value: 'abc' }, metadata: { type: 'int' } } } }, 400, /not an int/);
  await err(up, { twin: { temp: { actual: { value: '1' }, metadata: { type: 'complex' } } } }, 400, /metadata.type/);
  await err(up, { twin: { temp: { actual: { value: 'hot' } } } }, 400, /not an integer/); // the model says INT
  await err(up, { twin: { temp: { expected: { value: '5' } } } }, 400, /ReadOnly/);
  await err(up, { twin: { limit: { expected: { value: '99' } } } }, 400, /maximum 50/);
  await err(up, { twin: { limit: null } }, 400, /optional/);
  await err(up, { twin: { limit: { expected: { value: '20' }, expected_version: { cloud: 0, edge: 0 } } } }, 409, /older/);
  await err(`$hw/events/device/ghost-${suffix}/twin/update`, { twin: { temp: { actual: { value: '1' } } } }, 404, /not found/);
  await err(`$hw/events/device/${ns}/ghost/twin/get`, {}, 404);
  await err(`${base}/state/update`, { state: 'sleepy' }, 400, /must be one of/);
  await err(`${base}/state/update`, {}, 400, /state: missing/);
  // nothing of the refused updates was applied
  const g3 = await node.probe.request('devicetwin', { type: 'twin.get', device: { namespace: 'default', name: legacy } });
  assert.equal(g3.twins.temp?.actual?.value, '23');
  assert.equal(g3.twins.limit?.expected?.value, '10');

  // removal → membership/updated removed_devices
  const rm = m.count;
  await node.remove('Device', nsName, ns);
  const gone = await m.next(`$hw/events/node/${nodeName}/membership/updated`, (b) => (b.removed_devices as Msg[]).some((d) => d.name === nsName), rm);
  assert.equal((gone.added_devices as Msg[]).length, 0);

  // a store that cannot be written → 500 (status not stored, update not applied)
  node.store.db.close();
  await err(up, { twin: { temp: { actual: { value: '24' } } } }, 500);
}

test('mapper conformance against the embedded broker (aedes, ephemeral port)', async (t) => {
  const node = await startDeviceNode({ dir: tmpDir(t) });
  t.after(() => node.stop());
  assert.equal(node.eventbus.address?.host, '127.0.0.1');
  await conformance(t, node, 'node-a');
});

test('mapper conformance against an external broker (mosquitto)', async (t) => {
  if (!(await needMqtt(t))) return;
  const nodeName = `node-${randomBytes(3).toString('hex')}`;
  const node = await startDeviceNode({ dir: tmpDir(t), node: nodeName, eventbus: { mode: 'external', url: MQTT_URL } });
  t.after(() => node.stop());
  assert.equal(node.eventbus.address, undefined);
  await conformance(t, node, nodeName);
});

test('$ke data/update carries built-in driver samples for local consumers', async (t) => {
  const node = await startDeviceNode({ dir: tmpDir(t) });
  t.after(() => node.stop());
  const m = await Mapper.connect(node.url);
  t.after(() => m.c.endAsync(true));
  await m.sub('$ke/events/device/#');
  await node.apply('DeviceModel', 'thermostat', thermostatModel);
  await node.apply('Device', 'thermo-k', thermostat({ setpoint: '33' }));
  const d = await m.next('$ke/events/device/default/thermo-k/data/update', (b) => ((b.data as Record<string, Msg>).setpoint?.value as string) === '33');
  const p = (d.data as Record<string, Msg>).setpoint!;
  assert.deepEqual(Object.keys(p.metadata as Msg).sort(), ['timestamp', 'type']);
  assert.equal((p.metadata as Msg).type, 'int');
  await m.next('$ke/events/device/thermo-k/data/update', () => true);
});

test('a mapper that subscribes while a device already runs gets its data and twin documents from then on (nothing is built while nobody listens, embedded broker)', async (t) => {
  const node = await startDeviceNode({ dir: tmpDir(t) });
  t.after(() => node.stop());
  await node.apply('DeviceModel', 'thermostat', thermostatModel);
  await node.apply('Device', 'thermo-late', thermostat({ setpoint: '44' }));
  const key = { kind: 'Device', namespace: 'default', name: 'thermo-late' };
  // the device reports with no client on the broker
  await waitFor('setpoint 44 reported with no one subscribed', () => JSON.stringify(node.store.resources.get(key)?.status ?? {}).includes('"value":"44"') || undefined);
  const m = await Mapper.connect(node.url);
  t.after(() => m.c.endAsync(true));
  await m.sub('$ke/events/device/default/thermo-late/data/update');
  await m.sub('$hw/events/device/thermo-late/twin/update/document');
  await m.next('$ke/events/device/default/thermo-late/data/update', (b) => (b.data as Record<string, Msg>).temperature !== undefined || (b.data as Record<string, Msg>).setpoint !== undefined);
  // a twin document follows a change: the edge sets a new desired value, the driver writes and reads it back
  await node.probe.request('devicetwin', { type: 'twin.set', device: { namespace: 'default', name: 'thermo-late' }, desired: { setpoint: '45' } });
  await m.next('$hw/events/device/thermo-late/twin/update/document', (b) => JSON.stringify(b).includes('"45"'));
});

test('a pending delta is announced again when the node restarts (external broker keeps the mapper connected)', async (t) => {
  if (!(await needMqtt(t))) return;
  const dir = tmpDir(t);
  const nodeName = `node-${randomBytes(3).toString('hex')}`;
  const name = `acme-${randomBytes(3).toString('hex')}`;
  const opts = { dir, node: nodeName, eventbus: { mode: 'external', url: MQTT_URL } };
  const first = await startDeviceNode(opts);
  await first.apply('DeviceModel', 'acme', mapperModel);
  await first.apply('Device', name, mapperDevice({ desired: { value: '12' } }));
  await first.stop();
  const m = await Mapper.connect(MQTT_URL);
  t.after(() => m.c.endAsync(true));
  await m.sub(`$hw/events/device/default/${name}/twin/update/delta`);
  const again = await startDeviceNode(opts);
  t.after(() => again.stop());
  const d = await m.next(`$hw/events/device/default/${name}/twin/update/delta`);
  assert.deepEqual(d.delta, { limit: '12' });
});
