/**
 * devicetwin end to end on a real store and bus with the virtual driver: desired → write →
 * read-back → reported, validation of desired writes, refusal of invalid Devices, device health
 * with error counts, outbox contents, restart from SQLite.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TwinSample, TwinSamples } from '../../../src/contract/payloads.js';
import { isValidationError } from '../../../src/core/errors.js';
import { DeviceUnavailableError, DriverProtocolError } from '../../../src/drivers/errors.js';
import { builtinDrivers } from '../../../src/drivers/index.js';
import type { DriverFactory } from '../../../src/drivers/types.js';
import type { DeviceStatus } from '../../../src/modules/devicetwin/twin.js';
import { tmpDir } from '../../helpers/tmp.js';
import { NODE, startDeviceNode, thermostat, thermostatModel, waitFor, type DeviceNode } from './harness.js';

const status = (n: DeviceNode, name: string, ns = 'default'): DeviceStatus | undefined =>
  (n.store.resources.get({ kind: 'Device', namespace: ns, name })?.status ?? undefined) as DeviceStatus | undefined;
const reported = (s: DeviceStatus | undefined, prop: string): string | undefined => s?.twins.find((t) => t.propertyName === prop)?.reported?.value;
const outboxOf = (n: DeviceNode) =>
  n.store.outbox.peek(100_000).map((e) => ({ ...e, body: JSON.parse(e.payload.toString()) as Record<string, unknown> }));
/** the samples of a telemetry message (twin.samples: every property of one device's report) */
const samplesOf = (body: Record<string, unknown>): TwinSample[] => (body.event === 'twin.samples' ? (body.data as TwinSamples).samples : []);

test('desired value is written, confirmed by read-back, reported upstream; delta clears', async (t) => {
  const node = await startDeviceNode({ dir: tmpDir(t) });
  t.after(() => node.stop());
  await node.apply('DeviceModel', 'thermostat', thermostatModel);
  await node.apply('Device', 'thermo-1', thermostat({ setpoint: '42' }));
  const s = await waitFor('setpoint 42 reported', () => (reported(status(node, 'thermo-1'), 'setpoint') === '42' ? status(node, 'thermo-1') : undefined));
  assert.equal(s.state, 'online');
  const tw = await node.probe.request('devicetwin', { type: 'twin.get', device: { namespace: 'default', name: 'thermo-1' } });
  assert.equal(tw.twins.setpoint?.expected?.value, '42');
  assert.equal(tw.twins.setpoint?.actual?.value, '42');
  assert.equal(tw.twins.setpoint?.expectedVersion.cloud, 1);
  assert.deepEqual(tw.delta, {});
  // upstream: state keyed by device, holding only reportToCloud twins; telemetry samples
  const rows = outboxOf(node);
  const state = rows.filter((r) => r.class === 'state' && r.key === 'Device/default/thermo-1');
  assert.equal(state.length, 1);
  assert.equal(state[0]!.topic, `edgecore/v1/nodes/${NODE}/reported/state`);
  const st = state[0]!.body.status as DeviceStatus;
  assert.deepEqual(st.twins.map((x) => x.propertyName).sort(), ['setpoint', 'temperature']);
  // the telemetry samples may be written a moment after the status (metamanager batches reports);
  // one message per device and report, holding each reportToCloud property's sample
  const tel = await waitFor('a setpoint sample in the outbox', () => {
    const t = outboxOf(node).filter((r) => r.class === 'telemetry').map((r) => r.body);
    return t.some((b) => samplesOf(b).some((x) => x.property === 'setpoint')) ? t : undefined;
  });
  // beside the device's events (DeviceOnline: object.event), samples go up only as twin.samples
  for (const b of tel) assert.ok(b.event === 'twin.samples' || b.event === 'object.event', `telemetry event ${String(b.event)}`);
  assert.ok(!tel.some((b) => samplesOf(b).some((x) => x.property === 'power')), 'power is not reportToCloud');
  for (const b of tel) {
    const props = samplesOf(b).map((x) => x.property);
    assert.equal(new Set(props).size, props.length, `one sample per property in a message: ${props}`);
  }
});

test('twin.set: bad desired values are refused with field paths and change nothing; a good one is applied', async (t) => {
  const node = await startDeviceNode({ dir: tmpDir(t) });
  t.after(() => node.stop());
  await node.apply('DeviceModel', 'thermostat', thermostatModel);
  await node.apply('Device', 'thermo-2', thermostat({ setpoint: '30' }));
  const device = { namespace: 'default', name: 'thermo-2' };
  await waitFor('setpoint 30', () => reported(status(node, 'thermo-2'), 'setpoint') === '30');
  const cases: [Record<string, string>, string, RegExp][] = [
    [{ nope: '1' }, 'desired.nope', /unknown property/],
    [{ temperature: '10' }, 'desired.temperature', /ReadOnly/],
    [{ setpoint: '150' }, 'desired.setpoint', /above the maximum 100/],
    [{ setpoint: '-1' }, 'desired.setpoint', /below the minimum 0/],
    [{ setpoint: 'warm' }, 'desired.setpoint', /not an integer/],
    [{ power: 'yes' }, 'desired.power', /not true or false/],
  ];
  for (const [desired, path, reason] of cases) {
    await assert.rejects(node.probe.request('devicetwin', { type: 'twin.set', device, desired }), (e: unknown) => {
      assert.ok(isValidationError(e), String(e));
      assert.equal(e.issues[0]!.path, path);
      assert.match(e.issues[0]!.reason, reason);
      return true;
    });
  }
  // a mix of good and bad: nothing applied
  await assert.rejects(node.probe.request('devicetwin', { type: 'twin.set', device, desired: { setpoint: '50', power: 'maybe' } }));
  const after = await node.probe.request('devicetwin', { type: 'twin.get', device });
  assert.equal(after.twins.setpoint?.expected?.value, '30');
  assert.equal(after.twins.power?.expected, undefined);

  const r = await node.probe.request('devicetwin', { type: 'twin.set', device, desired: { setpoint: '55', power: 'true' } });
  assert.equal(r.twins.setpoint?.expected?.value, '55');
  assert.deepEqual(r.twins.setpoint?.expectedVersion, { cloud: 2, edge: 0 }, 'edgectl (via the relay) is a cloud change');
  const local = await node.probe.request('devicetwin', { type: 'twin.set', device, desired: { power: 'false' }, source: 'edge' });
  assert.deepEqual(local.twins.power?.expectedVersion, { cloud: 1, edge: 1 });
  await node.probe.request('devicetwin', { type: 'twin.set', device, desired: { power: 'true' } });
  await waitFor('setpoint 55 + power true', () => reported(status(node, 'thermo-2'), 'setpoint') === '55' && reported(status(node, 'thermo-2'), 'power') === 'true');
  await assert.rejects(node.probe.request('devicetwin', { type: 'twin.get', device: { namespace: 'default', name: 'ghost' } }), /not found/);
});

test('invalid Devices are refused (status names the field), other nodes\' Devices are ignored', async (t) => {
  const node = await startDeviceNode({ dir: tmpDir(t) });
  t.after(() => node.stop());
  await node.apply('DeviceModel', 'thermostat', thermostatModel);
  await node.apply('Device', 'bad-range', thermostat({ setpoint: '1000' }));
  await node.apply('Device', 'no-model', { ...thermostat(), deviceModelRef: { name: 'missing' } });
  await node.apply('Device', 'bad-field', { ...thermostat(), colour: 'red' });
  await node.apply('Device', 'elsewhere', thermostat({ nodeName: 'node-b' }));
  await node.apply('Device', 'good', thermostat());
  const inv = (name: string) => waitFor(`${name} refused`, () => status(node, name)?.invalid);
  assert.equal((await inv('bad-range'))[0]!.path, 'spec.properties[0].desired.value');
  assert.equal((await inv('no-model'))[0]!.path, 'spec.deviceModelRef.name');
  assert.equal((await inv('bad-field'))[0]!.path, 'spec.colour');
  await waitFor('good online', () => status(node, 'good')?.state === 'online');
  const m = await node.probe.request('devicetwin', { type: 'membership.get' });
  assert.deepEqual(m.devices.map((d) => d.name), ['good']);
  assert.equal(status(node, 'elsewhere'), undefined, 'another node\'s device gets no status from us');
  // fixing the spec brings the device in
  await node.apply('Device', 'bad-range', thermostat({ setpoint: '10' }));
  await waitFor('bad-range fixed and written', () => reported(status(node, 'bad-range'), 'setpoint') === '10');
  assert.equal(status(node, 'bad-range')?.invalid, undefined);
});

/** A driver whose reads can be broken on demand (a fake: a flaky bus cannot be made here without hardware). */
function fakeFlakyDriver(ctl: { mode: 'ok' | 'protocol' | 'gone' }): DriverFactory {
  return {
    protocol: 'fake-flaky',
    validate: () => [],
    create: () => ({
      connect: async () => {
        if (ctl.mode === 'gone') throw new DeviceUnavailableError('fake device unplugged');
      },
      read: async () => {
        if (ctl.mode === 'protocol') throw new DriverProtocolError('fake garbled answer');
        if (ctl.mode === 'gone') throw new DeviceUnavailableError('fake device unplugged');
        return 7;
      },
      write: async () => undefined,
      close: async () => undefined,
    }),
  };
}

test('driver failures: unhealthy, then offline with error counts, reconnect with backoff, back online', async (t) => {
  const ctl = { mode: 'ok' as 'ok' | 'protocol' | 'gone' };
  const node = await startDeviceNode({ dir: tmpDir(t), drivers: [...builtinDrivers(), fakeFlakyDriver(ctl)], devicetwin: { offlineAfterErrors: 3 } });
  t.after(() => node.stop());
  await node.apply('DeviceModel', 'meter', { protocol: 'fake-flaky', properties: [{ name: 'v', type: 'INT', accessMode: 'ReadOnly' }] });
  await node.apply('Device', 'meter-1', { deviceModelRef: { name: 'meter' }, protocol: { protocolName: 'fake-flaky' }, properties: [{ name: 'v', collectCycle: 20 }] });
  await waitFor('online', () => status(node, 'meter-1')?.state === 'online' && reported(status(node, 'meter-1'), 'v') === '7');
  ctl.mode = 'protocol';
  await waitFor('unhealthy', () => status(node, 'meter-1')?.state === 'unhealthy');
  const off = await waitFor('offline after 3 errors', () => (status(node, 'meter-1')?.state === 'offline' ? status(node, 'meter-1') : undefined));
  assert.ok(off.errorCount >= 3, `errorCount ${off.errorCount}`);
  assert.match(off.lastError ?? '', /garbled/);
  ctl.mode = 'gone';
  const before = off.errorCount;
  await waitFor('reconnect attempts counted', () => (status(node, 'meter-1')?.errorCount ?? 0) >= before + 2);
  assert.match(status(node, 'meter-1')?.lastError ?? '', /unplugged/);
  ctl.mode = 'ok';
  const back = await waitFor('online again', () => (status(node, 'meter-1')?.state === 'online' ? status(node, 'meter-1') : undefined));
  assert.equal(back.consecutiveErrors, 0);
  assert.ok(back.lastOnlineTime);
  // the daemon's other devices and modules never noticed: the virtual device with failConnect stays offline alone
  await node.apply('DeviceModel', 'thermostat', thermostatModel);
  await node.apply('Device', 'dead', { ...thermostat(), protocol: { protocolName: 'virtual', configData: { failConnect: true } } });
  await waitFor('dead offline', () => status(node, 'dead')?.state === 'offline' && (status(node, 'dead')?.errorCount ?? 0) >= 2);
  assert.equal(status(node, 'meter-1')?.state, 'online');
});

test('a write the hardware does not take: read-back mismatch is an error, the delta stays', async (t) => {
  let writes = 0;
  const stubborn: DriverFactory = {
    protocol: 'fake-stubborn',
    validate: () => [],
    create: () => ({
      connect: async () => undefined,
      read: async () => 1,
      write: async () => void writes++,
      close: async () => undefined,
    }),
  };
  const node = await startDeviceNode({ dir: tmpDir(t), drivers: [stubborn] });
  t.after(() => node.stop());
  await node.apply('DeviceModel', 'valve', { protocol: 'fake-stubborn', properties: [{ name: 'v', type: 'INT', accessMode: 'ReadWrite' }] });
  await node.apply('Device', 'valve-1', { deviceModelRef: { name: 'valve' }, properties: [{ name: 'v', desired: { value: '5' }, collectCycle: 20 }] });
  const s = await waitFor('read-back error', () => (/read-back of v gave 1, desired 5/.test(status(node, 'valve-1')?.lastError ?? '') ? status(node, 'valve-1') : undefined));
  assert.ok(s.errorCount >= 1);
  assert.ok(writes >= 1);
  const tw = await node.probe.request('devicetwin', { type: 'twin.get', device: { namespace: 'default', name: 'valve-1' } });
  assert.deepEqual(tw.delta, { v: '5' });
  assert.equal(tw.twins.v?.actual?.value, '1');
});

test('restart from SQLite: devices, twins and twin.set desired values come back with no cloud', async (t) => {
  const dir = tmpDir(t);
  const node = await startDeviceNode({ dir });
  await node.apply('DeviceModel', 'thermostat', thermostatModel);
  await node.apply('Device', 'thermo-r', thermostat({ setpoint: '20' }));
  const device = { namespace: 'default', name: 'thermo-r' };
  await waitFor('setpoint 20', () => reported(status(node, 'thermo-r'), 'setpoint') === '20');
  await node.probe.request('devicetwin', { type: 'twin.set', device, desired: { setpoint: '66' } });
  await waitFor('setpoint 66', () => reported(status(node, 'thermo-r'), 'setpoint') === '66');
  await node.stop();

  const t0 = Date.now();
  const again = await startDeviceNode({ dir });
  t.after(() => again.stop());
  const m = await again.probe.request('devicetwin', { type: 'membership.get' });
  assert.deepEqual(m.devices.map((d) => d.name), ['thermo-r']);
  const tw = await again.probe.request('devicetwin', { type: 'twin.get', device });
  assert.equal(tw.twins.setpoint?.expected?.value, '66', 'the twin.set value is not undone by the spec on restart');
  assert.deepEqual(tw.twins.setpoint?.expectedVersion, { cloud: 2, edge: 0 });
  // the echo device restarted at its initial value; the pending desired value is written again
  await waitFor('setpoint re-written to 66', () => {
    const tw = status(again, 'thermo-r')?.twins.find((x) => x.propertyName === 'setpoint');
    return tw?.reported?.value === '66' && Number(tw.reported.metadata.timestamp) >= t0 && status(again, 'thermo-r')?.state === 'online';
  });
  // a cloud change of the spec's desired value wins again
  await again.apply('Device', 'thermo-r', thermostat({ setpoint: '21' }));
  await waitFor('setpoint 21', () => reported(status(again, 'thermo-r'), 'setpoint') === '21');
  // and deleting the Device drops it
  await again.remove('Device', 'thermo-r');
  await waitFor('gone', async () => (await again.probe.request('devicetwin', { type: 'membership.get' })).devices.length === 0);
});

test('aggregate filter reports min/max/mean per report cycle upstream', async (t) => {
  const node = await startDeviceNode({ dir: tmpDir(t) });
  t.after(() => node.stop());
  await node.apply('DeviceModel', 'thermostat', thermostatModel);
  await node.apply('Device', 'thermo-a', thermostat({ tempFilter: { mode: 'aggregate' } }));
  const agg = await waitFor('an aggregate sample', () =>
    outboxOf(node)
      .filter((r) => r.class === 'telemetry')
      .flatMap((r) => samplesOf(r.body))
      .find((d) => d.property === 'temperature' && d.aggregate && d.aggregate.count >= 2),
  );
  const a = agg.aggregate!;
  assert.ok(a.min <= a.mean && a.mean <= a.max, JSON.stringify(a));
  assert.ok(a.min >= 15 && a.max <= 25, JSON.stringify(a));
});
