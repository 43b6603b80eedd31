/** The KubeEdge mapper wire contract: topics (both id forms), payload validation, encoding. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mapperCodeOf, wireErrorOf } from '../../../src/contract/errors.js';
import {
  deviceIds,
  hwTopics,
  MAPPER_LIMITS,
  parseDeviceTopic,
  parseJson,
  parseStateUpdate,
  parseTwinUpdate,
  toMsgTwin,
} from '../../../src/contract/mapper.js';

/** the numeric code a refusal goes back with on `…/result` */
const code = (fn: () => unknown): number => {
  try {
    fn();
  } catch (e) {
    const w = wireErrorOf(e, 'Failed');
    assert.equal(w.code, 'Invalid', String(e));
    return mapperCodeOf(w.code);
  }
  return 0;
};

test('device topics: {name} means namespace default; {namespace}/{name}; results are not requests', () => {
  assert.deepEqual(parseDeviceTopic('$hw/events/device/pump/twin/update'), { kind: 'twin/update', id: 'pump', device: { namespace: 'default', name: 'pump' } });
  assert.deepEqual(parseDeviceTopic('$hw/events/device/plant/pump/twin/get'), { kind: 'twin/get', id: 'plant/pump', device: { namespace: 'plant', name: 'pump' } });
  assert.deepEqual(parseDeviceTopic('$hw/events/device/plant/pump/state/update')?.kind, 'state/update');
  // a device named like a topic segment
  assert.deepEqual(parseDeviceTopic('$hw/events/device/ns/twin/twin/update')?.device, { namespace: 'ns', name: 'twin' });
  for (const t of [
    '$hw/events/device/pump/twin/update/result',
    '$hw/events/device/pump/twin/update/delta',
    '$hw/events/device/pump/twin/update/document',
    '$hw/events/device/pump/twin/get/result',
    '$hw/events/device/a/b/c/twin/update',
    '$hw/events/device//twin/update',
    '$hw/events/device/twin/update',
    '$hw/events/node/n/membership/get',
  ]) {
    assert.equal(parseDeviceTopic(t), undefined, t);
  }
  assert.deepEqual(deviceIds({ namespace: 'default', name: 'p' }, true), ['default/p', 'p']);
  assert.deepEqual(deviceIds({ namespace: 'default', name: 'p' }, false), ['default/p']);
  assert.deepEqual(deviceIds({ namespace: 'x', name: 'p' }, true), ['x/p']);
  assert.equal(hwTopics.twinUpdateDelta('x/p'), '$hw/events/device/x/p/twin/update/delta');
  assert.equal(hwTopics.dataUpdate('p'), '$ke/events/device/p/data/update');
  assert.equal(hwTopics.membershipGetResult('n1'), '$hw/events/node/n1/membership/get/result');
});

test('twin/update validation: 400 for every malformed part', () => {
  assert.equal(code(() => parseJson(Buffer.from('{'))), 400);
  assert.equal(code(() => parseJson(Buffer.from('[1]'))), 400);
  assert.equal(code(() => parseTwinUpdate({})), 400);
  assert.equal(code(() => parseTwinUpdate({ twin: [] })), 400);
  assert.equal(code(() => parseTwinUpdate({ twin: { 'a b': {} } })), 400);
  assert.equal(code(() => parseTwinUpdate({ twin: { ['k'.repeat(129)]: {} } })), 400);
  assert.equal(code(() => parseTwinUpdate({ twin: { t: { actual: { value: 'x'.repeat(513) } } } })), 400);
  assert.equal(code(() => parseTwinUpdate({ twin: { t: { actual: { value: 'a b' } } } })), 400);
  assert.equal(code(() => parseTwinUpdate({ twin: { t: { actual: { value: 1 } } } })), 400);
  assert.equal(code(() => parseTwinUpdate({ twin: { t: { actual: 'x' } } })), 400);
  assert.equal(code(() => parseTwinUpdate({ twin: { t: { actual: { value: '1.5' }, metadata: { type: 'int' } } } })), 400);
  assert.equal(code(() => parseTwinUpdate({ twin: { t: { actual: { value: 'yes' }, metadata: { type: 'boolean' } } } })), 400);
  assert.equal(code(() => parseTwinUpdate({ twin: { t: { actual: { value: 'x' }, metadata: { type: 'float' } } } })), 400);
  assert.equal(code(() => parseTwinUpdate({ twin: { t: { actual: { value: '1' }, metadata: { type: 'double' } } } })), 400);
  assert.equal(code(() => parseTwinUpdate({ twin: { t: { expected: { value: '1' }, expected_version: { cloud: 'a' } } } })), 400);
  assert.equal(code(() => parseTwinUpdate({ twin: { t: { optional: 'yes' } } })), 400);
});

test('twin/update parsing: values, types, versions, deletes', () => {
  const p = parseTwinUpdate({
    event_id: 'e',
    timestamp: 1,
    twin: {
      temp: { actual: { value: '23', metadata: { timestamp: 5 } }, metadata: { type: 'integer' } },
      'a-b_c.d,e:f/g@h#i': { expected: { value: '-1.5e3' }, metadata: { type: 'float' }, expected_version: { cloud: 1, edge: 2 } },
      gone: null,
      old: { metadata: { type: 'deleted' } },
      plain: { actual: { value: 'x' }, optional: true },
    },
  });
  assert.deepEqual(p, {
    temp: { actual: '23', type: 'int' },
    'a-b_c.d,e:f/g@h#i': { expected: '-1.5e3', type: 'float', expectedVersion: { cloud: 1, edge: 2 } },
    gone: null,
    old: null,
    plain: { actual: 'x', optional: true },
  });
});

test('state/update: the key is matched case-insensitively', () => {
  assert.equal(parseStateUpdate({ state: 'online' }), 'online');
  assert.equal(parseStateUpdate({ State: 'OK' }), 'OK');
  assert.equal(code(() => parseStateUpdate({ status: 'online' })), 400);
  assert.equal(code(() => parseStateUpdate({ state: 1 })), 400);
});

test('encoding: versions only where asked; string values, ms timestamps', () => {
  const t = { type: 'int', optional: false, expected: { value: '5', timestamp: 10 }, actual: { value: '4', timestamp: 11 }, expectedVersion: { cloud: 1, edge: 0 }, actualVersion: { cloud: 0, edge: 2 } };
  assert.deepEqual(toMsgTwin(t, false), { expected: { value: '5', metadata: { timestamp: 10 } }, actual: { value: '4', metadata: { timestamp: 11 } }, optional: false, metadata: { type: 'int' } });
  assert.deepEqual(toMsgTwin(t, true).expected_version, { cloud: 1, edge: 0 });
});

test('issue 18 (7): unknown fields inside a twin entry, deep nesting, oversized payloads and too many twins are refused (400)', () => {
  // unknown fields at every level of a twin entry, each named by its path
  const refusal = (m: Record<string, unknown>): string => {
    try {
      parseTwinUpdate(m);
    } catch (e) {
      return wireErrorOf(e, 'Failed').message;
    }
    return 'accepted';
  };
  assert.match(refusal({ twin: { t: { actual: { value: '1' }, ghost: { a: 1 } } } }), /twin\.t\.ghost: unknown field/);
  assert.match(refusal({ twin: { t: { actual: { value: '1', a: 1 } } } }), /twin\.t\.actual\.a: unknown field/);
  assert.match(refusal({ twin: { t: { actual: { value: '1', metadata: { timestamp: 1, x: 1 } } } } }), /twin\.t\.actual\.metadata\.x: unknown field/);
  assert.match(refusal({ twin: { t: { actual: { value: '1', metadata: { timestamp: -1 } } } } }), /timestamp: must be ms since epoch/);
  assert.match(refusal({ twin: { t: { metadata: { type: 'int', colour: 'red' } } } }), /twin\.t\.metadata\.colour: unknown field/);
  assert.match(refusal({ twin: { t: { expected: { value: '1' }, expected_version: { cloud: 1, edge: 1, x: 1 } } } }), /expected_version\.x: unknown field/);
  assert.match(refusal({ twin: { t: { expected: { value: '1' }, expected_version: { cloud: 1.5, edge: 1 } } } }), /expected_version: must be/);
  const many = Object.fromEntries(Array.from({ length: MAPPER_LIMITS.maxTwinsPerUpdate + 1 }, (_, i) => [`t${i}`, { actual: { value: '1' } }]));
  assert.match(refusal({ twin: many }), /129 twins in one update; at most 128/);
  assert.equal(Object.keys(parseTwinUpdate({ twin: Object.fromEntries(Object.entries(many).slice(1)) })).length, 128);

  // nesting: the deepest legitimate message (twin.<name>.actual.metadata.timestamp) passes
  assert.doesNotThrow(() => parseJson(Buffer.from(JSON.stringify({ twin: { t: { actual: { value: '1', metadata: { timestamp: 1 } } } } }))));
  const deep = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
  assert.ok(deep.length < MAPPER_LIMITS.maxPayloadBytes);
  assert.throws(() => parseJson(Buffer.from(deep)), /nests deeper than 6 levels/);
  assert.equal(code(() => parseJson(Buffer.from(JSON.stringify({ a: [[[[[[[1]]]]]]] })))), 400);
  // size: refused before it is parsed
  const big = Buffer.from(JSON.stringify({ twin: { t: { actual: { value: 'x'.repeat(MAPPER_LIMITS.maxPayloadBytes) } } } }));
  assert.throws(() => parseJson(big), /over the 65536-byte limit/);
});
