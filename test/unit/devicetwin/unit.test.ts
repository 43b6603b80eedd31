/**
 * One device's behaviour (DeviceUnit): its twin document from the spec, validation of desired
 * values, edge updates from an external mapper, and a built-in driver (the real virtual driver)
 * that writes desired values and reports what it reads back. The sink is a recording one (the
 * module's persistence port: what would go to metamanager and the bus), so each step's effect
 * is visible in order.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { parseDevice, parseDeviceModel } from '../../../src/contract/resources/device.js';
import { isValidationError } from '../../../src/core/errors.js';
import { nullLogger } from '../../../src/core/logger.js';
import type { DataPoint } from '../../../src/modules/devicetwin/messages.js';
import { computeDelta, emptyDoc, type TwinDocument } from '../../../src/modules/devicetwin/twin.js';
import { cycleMs, DeviceUnit, MAX_TWINS, mergeChanges, type Sink } from '../../../src/modules/devicetwin/unit.js';
import { virtualDriver } from '../../../src/drivers/virtual/driver.js';
import { waitFor } from '../../helpers/wait.js';

const model = parseDeviceModel({
  apiVersion: 'devices.kubeedge.io/v1beta1',
  kind: 'DeviceModel',
  metadata: { name: 'thermostat', namespace: 'default' },
  spec: {
    protocol: 'virtual',
    properties: [
      { name: 'setpoint', type: 'INT', accessMode: 'ReadWrite', minimum: '0', maximum: '100' },
      { name: 'temperature', type: 'FLOAT', accessMode: 'ReadOnly' },
    ],
  },
}).spec;

const device = (setpoint?: string) =>
  parseDevice({
    apiVersion: 'devices.kubeedge.io/v1beta1',
    kind: 'Device',
    metadata: { name: 'd1', namespace: 'default' },
    spec: {
      deviceModelRef: { name: 'thermostat' },
      protocol: { protocolName: 'virtual' },
      properties: [
        { name: 'setpoint', ...(setpoint ? { desired: { value: setpoint } } : {}), visitors: { protocolName: 'virtual', configData: { signal: 'echo', initial: 20 } }, collectCycle: 5, reportCycle: 5, reportToCloud: true },
        { name: 'temperature', visitors: { protocolName: 'virtual', configData: { signal: 'constant', value: 21.5 } }, collectCycle: 5, reportCycle: 5 },
      ],
    },
  }).spec;

interface Recorded {
  commits: TwinDocument[];
  /** commits and reported samples in the order they happened */
  log: string[];
  reported: { property: string; point: DataPoint }[];
  states: string[];
  failNext: boolean;
  /** commits still to fail (metamanager busy: its request timed out) */
  failing: number;
}

function unit(t: TestContext, o: { builtin: boolean; setpoint?: string }): { u: DeviceUnit; rec: Recorded } {
  const rec: Recorded = { commits: [], log: [], reported: [], states: [], failNext: false, failing: 0 };
  const sink: Sink = {
    commit: async (_u, document) => {
      if (rec.failNext || rec.failing > 0) {
        rec.failNext = false;
        rec.failing--;
        throw new Error('store unavailable');
      }
      rec.commits.push(document);
      rec.log.push('commit');
    },
    reported: (_u, samples) => {
      for (const { property, point } of samples) {
        rec.reported.push({ property, point });
        rec.log.push(property);
      }
    },
    stateChanged: (_u, state) => void rec.states.push(state),
  };
  const u = new DeviceUnit({
    ref: { namespace: 'default', name: 'd1' },
    spec: device(o.setpoint),
    model,
    protocol: 'virtual',
    ...(o.builtin ? { factory: virtualDriver() } : {}),
    env: { sysfs: '/sys', dev: '/dev', log: nullLogger() },
    doc: emptyDoc(),
    defaults: { collectMs: 1000, reportMs: 1000 },
    offlineAfter: 3,
    reconnect: { initialMs: 5, maxMs: 20 },
    readBackDelayMs: 0,
    now: Date.now,
    log: nullLogger(),
    sink,
  });
  t.after(() => u.stop());
  return { u, rec };
}

test('the twin document follows the spec: one twin per model property, desired values taken over', (t) => {
  const { u } = unit(t, { builtin: false, setpoint: '30' });
  assert.deepEqual(Object.keys(u.doc.twins).sort(), ['setpoint', 'temperature']);
  assert.equal(u.doc.twins.setpoint?.expected?.value, '30');
  assert.deepEqual(computeDelta(u.doc), { setpoint: '30' });
  assert.equal(u.reportsToCloud('setpoint'), true);
  assert.equal(u.reportsToCloud('temperature'), false);
  assert.equal(u.key, 'default/d1');
});

test('desired values are checked against the model: unknown, read-only, out of range, wrong type', (t) => {
  const { u } = unit(t, { builtin: false });
  try {
    u.checkDesired({ nope: '1', temperature: '3', setpoint: '101' }, 'desired');
    assert.fail('expected a refusal');
  } catch (e) {
    assert.ok(isValidationError(e));
    assert.deepEqual(e.issues.map((i) => i.path), ['desired.nope', 'desired.temperature', 'desired.setpoint']);
  }
  assert.doesNotThrow(() => u.checkDesired({ setpoint: '55' }, 'desired'));
});

test('an external mapper\'s update is committed first, then its actual values are reported; a failed commit changes nothing', async (t) => {
  const { u, rec } = unit(t, { builtin: false });
  await u.start({});
  assert.equal(rec.commits.length, 1, 'start commits the first document');
  const doc = await u.update({ temperature: { actual: '22.5' } }, 'edge');
  assert.equal(doc.temperature?.current?.actual?.value, '22.5');
  assert.deepEqual(rec.reported.map((r) => [r.property, r.point.value, r.point.type]), [['temperature', '22.5', 'float']]);
  assert.equal(rec.commits.length, 2);

  rec.failNext = true;
  await assert.rejects(u.update({ temperature: { actual: '30' } }, 'edge'), /store unavailable/);
  assert.equal(u.doc.twins.temperature?.actual?.value, '22.5', 'not stored: not applied');
  assert.equal(rec.reported.length, 1);
  await assert.rejects(u.update({ temperature: { actual: 'warm' } }, 'edge'), (e: unknown) => isValidationError(e) && e.issues[0]!.path === 'twin.temperature.actual.value');

  await u.setState('online');
  assert.equal(u.doc.state, 'online');
  assert.ok(u.doc.lastOnlineTime);
  await u.setState('online');
  await u.setState('offline');
  assert.deepEqual(rec.states, ['online', 'offline'], 'one state event per change, none for a repeat');
});

test('a built-in device goes online, writes the desired value, reports the read-back, and the delta clears', async (t) => {
  const { u, rec } = unit(t, { builtin: true, setpoint: '42' });
  await u.start({});
  await waitFor('online', () => u.doc.state === 'online' || undefined);
  assert.deepEqual(rec.states, ['online'], 'going online is an event');
  await waitFor('setpoint read back as 42', () => u.doc.twins.setpoint?.actual?.value === '42' || undefined);
  assert.deepEqual(computeDelta(u.doc), {});
  assert.ok(rec.reported.some((r) => r.property === 'setpoint' && r.point.value === '42'));
  await waitFor('temperature collected', () => u.doc.twins.temperature?.actual?.value === '21.5' || undefined);
  // a new desired value from the edge is written too
  await u.update({ setpoint: { expected: '7' } }, 'edge');
  await waitFor('setpoint 7 written and read back', () => u.doc.twins.setpoint?.actual?.value === '7' || undefined);
});

test('properties on the same report cycle are committed together: one status write per tick, then each sample', async (t) => {
  const { u, rec } = unit(t, { builtin: true });
  await u.start({});
  // a report of one property alone is `commit, <property>`; a tick of both is one commit, then both samples
  await waitFor('a tick that commits both properties at once', () => {
    for (let i = 0; i + 2 < rec.log.length; i++) {
      if (rec.log[i] === 'commit' && new Set([rec.log[i + 1], rec.log[i + 2]]).size === 2 && !rec.log.slice(i + 1, i + 3).includes('commit')) return true;
    }
    return undefined;
  });
  assert.ok(rec.commits.length < rec.reported.length, `fewer commits (${rec.commits.length}) than samples reported (${rec.reported.length})`);
});

test('cycles: ms as written, Go durations (≥ 1e9) read as ns, absent or zero take the default', () => {
  assert.equal(cycleMs(500, 1000), 500);
  assert.equal(cycleMs(2_000_000_000, 1000), 2000);
  assert.equal(cycleMs(undefined, 1000), 1000);
  assert.equal(cycleMs(0, 1000), 1000);
});

test('issue 18 (7): a built-in device refuses twins its model does not have; a mapper device holds at most MAX_TWINS', async (t) => {
  const { u, rec } = unit(t, { builtin: true });
  await u.start({});
  const commits = rec.commits.length;
  await assert.rejects(u.update({ ghost: { actual: 'boo' }, setpoint: { expected: '5' } }, 'edge'), (e: unknown) => isValidationError(e) && e.issues.map((i) => i.path).join() === 'twin.ghost');
  await assert.rejects(u.update({ a: { optional: true } }, 'edge'), (e: unknown) => isValidationError(e) && /has no property a/.test(e.issues[0]!.reason));
  assert.deepEqual(Object.keys(u.doc.twins).sort(), ['setpoint', 'temperature'], 'no ghost twin');
  assert.equal(rec.commits.length, commits, 'nothing committed');
  assert.notEqual(u.doc.twins.setpoint?.expected?.value, '5', 'the good half of a refused update is not applied either');

  const m = unit(t, { builtin: false }).u;
  await m.start({});
  // a mapper may add optional twins, up to the bound
  const add = (from: number, n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`x${from + i}`, { actual: 'v', optional: true }]));
  await m.update(add(0, MAX_TWINS - 2), 'edge');
  assert.equal(Object.keys(m.doc.twins).length, MAX_TWINS);
  await assert.rejects(m.update(add(1000, 1), 'edge'), (e: unknown) => isValidationError(e) && /more than 256 twins/.test(e.issues[0]!.reason));
  // updating twins it has is still fine
  await m.update({ x0: { actual: 'w' } }, 'edge');
  assert.equal(m.doc.twins.x0?.actual?.value, 'w');
});

test('a status the store did not take is committed again until it is (a busy metamanager): the driver runs meanwhile, and the read value is not lost', async (t) => {
  const { u, rec } = unit(t, { builtin: true });
  rec.failing = 3; // the first document, the device going online, the first reading
  await u.start({}); // does not reject: the hardware is driven though the store did not answer
  await waitFor('the device online', () => rec.states.includes('online'), 10_000, 5);
  const stored = await waitFor('the reading stored by a commit tried again', () => rec.commits.find((d) => d.temperature?.current?.actual?.value === '21.5'), 20_000, 5);
  assert.equal(stored.temperature?.last?.actual, undefined, 'announced from the value before the first reading (the changes not announced go with it)');
  assert.ok(rec.failing <= 0);
  assert.equal(u.doc.twins.temperature?.actual?.value, '21.5');
});

test('changes not yet stored merge: each twin keeps its first previous value and its latest current one', () => {
  const tw = (v: string) => ({ actual: { value: v, metadata: { timestamp: 1 } } }) as never;
  assert.deepEqual(mergeChanges({ a: { last: tw('1'), current: tw('2') } }, { a: { last: tw('2'), current: tw('3') }, b: { last: null, current: tw('x') } }), {
    a: { last: tw('1'), current: tw('3') },
    b: { last: null, current: tw('x') },
  });
});
