/**
 * Issue 18, point 7: what a buggy or hostile mapper sends the node's eventbus is refused and
 * changes nothing. A raw `mqtt` client against a real node (metamanager, eventbus, devicetwin with
 * the built-in virtual driver): unknown fields inside a twin entry, ghost twins on a built-in
 * device, deep nesting, oversized payloads (400 on `…/result`, nothing stored); a 100 MB packet
 * closes the connection at its header on the embedded broker, and the node keeps answering.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { MQTT_URL, needMqtt } from '../../helpers/mqtt.js';
import { tmpDir } from '../../helpers/tmp.js';
import { NODE, startDeviceNode, thermostat, thermostatModel, waitFor, type DeviceNode } from '../devicetwin/harness.js';

type Msg = Record<string, unknown>;

async function mapper(t: TestContext, url: string): Promise<{ c: MqttClient; ask(topic: string, body: Msg | string): Promise<Msg> }> {
  const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, clientId: `hostile-${randomBytes(4).toString('hex')}` });
  t.after(() => c.endAsync(true));
  const seen: { topic: string; body: Msg }[] = [];
  c.on('message', (topic, payload) => seen.push({ topic, body: JSON.parse(payload.toString()) as Msg }));
  return {
    c,
    async ask(topic, body) {
      const event = randomBytes(6).toString('hex');
      const text = typeof body === 'string' ? body : JSON.stringify({ event_id: event, timestamp: Date.now(), ...body });
      await c.subscribeAsync(`${topic}/result`, { qos: 1 });
      const from = seen.length;
      await c.publishAsync(topic, text);
      return waitFor(`result of ${topic} ${text.slice(0, 80)}; seen ${JSON.stringify(seen.slice(-3)).slice(0, 400)}`, () => seen.slice(from).find((m) => m.topic === `${topic}/result` && (typeof body === 'string' || m.body.event_id === event))?.body);
    },
  };
}

async function refusesHostileTwinUpdates(t: TestContext, node: DeviceNode, url: string, nodeName: string): Promise<void> {
  const name = `thermo-${randomBytes(3).toString('hex')}`;
  await node.apply('DeviceModel', 'thermostat', thermostatModel);
  await node.apply('Device', name, thermostat({ setpoint: '30', nodeName }));
  const twins = async (): Promise<Record<string, { actual?: { value?: string } }>> =>
    (await node.probe.request('devicetwin', { type: 'twin.get', device: { namespace: 'default', name } })).twins as Record<string, { actual?: { value?: string } }>;
  await waitFor('the built-in device reads its setpoint', async () => (await twins()).setpoint?.actual?.value === '30' || undefined);
  const before = Object.keys(await twins()).sort();

  const m = await mapper(t, url);
  const up = `$hw/events/device/default/${name}/twin/update`;
  const cases: [string, Msg | string, RegExp][] = [
    ['a ghost twin on a built-in device', { twin: { ghost: { actual: { value: 'boo' } } } }, /has no property ghost/],
    ['a ghost twin marked optional', { twin: { a: { actual: { value: '1' }, optional: true } } }, /has no property a/],
    ['an unknown field inside a twin entry', { twin: { setpoint: { actual: { value: '31' }, ghost: { a: 1 } } } }, /twin\.setpoint\.ghost: unknown field/],
    ['an unknown field inside a value', { twin: { setpoint: { actual: { value: '31', junk: 'x' } } } }, /twin\.setpoint\.actual\.junk: unknown field/],
    ['deep nesting', `{"event_id":"x","twin":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`, /nests deeper than 6 levels/],
    // refused before it is parsed: its result cannot carry its event_id
    ['an oversized payload', JSON.stringify({ event_id: 'big', twin: { setpoint: { actual: { value: '1' } } }, pad: 'x'.repeat(100 * 1024) }), /over the 65536-byte limit/],
  ];
  for (const [what, body, reason] of cases) {
    const r = await m.ask(up, body);
    assert.equal(r.code, 400, `${what}: ${JSON.stringify(r)}`);
    assert.match(String(r.reason), reason, what);
  }
  assert.deepEqual(Object.keys(await twins()).sort(), before, 'no twin was created');
  assert.notEqual((await twins()).setpoint?.actual?.value, '31', 'no value of a refused update was applied');
  // and a well-formed update is still answered
  const ok = await m.ask(`$hw/events/device/default/${name}/twin/get`, {});
  assert.ok('setpoint' in (ok.twin as Msg) && !('ghost' in (ok.twin as Msg)));
}

test('embedded broker: hostile twin updates refused with 400, nothing created; a 100 MB packet closes its connection', async (t) => {
  const node = await startDeviceNode({ dir: tmpDir(t) });
  t.after(() => node.stop());
  await refusesHostileTwinUpdates(t, node, node.url, NODE);

  // 100 MB: the broker closes the connection at the packet's header, before PUBACK
  const big = await mqtt.connectAsync(node.url, { reconnectPeriod: 0, clientId: `huge-${randomBytes(4).toString('hex')}` });
  t.after(() => big.endAsync(true));
  const outcome = await new Promise<string>((resolve) => {
    big.once('close', () => resolve('closed'));
    big.publish('$hw/events/device/default/x/twin/update', Buffer.alloc(100 * 1024 * 1024, 0x61), { qos: 1 }, (err) => resolve(err ? `error: ${err.message}` : 'acknowledged'));
  });
  assert.equal(outcome, 'closed');
  // the node still answers a mapper
  const m = await mapper(t, node.url);
  const r = await m.ask('$hw/events/device/default/no-such-device/twin/get', {});
  assert.equal(r.code, 404);
});

test('external broker (mosquitto): the same hostile twin updates are refused with 400, nothing created', async (t) => {
  if (!(await needMqtt(t))) return;
  const nodeName = `node-${randomBytes(3).toString('hex')}`;
  const node = await startDeviceNode({ dir: tmpDir(t), node: nodeName, eventbus: { mode: 'external', url: MQTT_URL } });
  t.after(() => node.stop());
  await refusesHostileTwinUpdates(t, node, MQTT_URL, nodeName);
});
