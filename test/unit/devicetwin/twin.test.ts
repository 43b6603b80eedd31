/** The twin document: versions, conflicts, deletes, delta, spec sync, status round trip. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isConflictError, isValidationError } from '../../../src/core/errors.js';
import type { DeviceModelSpec, DeviceSpec } from '../../../src/contract/resources/device.js';
import { stableStringify } from '../../../src/lib/json.js';
import { applyPatch, computeDelta, emptyDoc, fromStatus, stateText, syncWithSpec, toStatus, withState } from '../../../src/modules/devicetwin/twin.js';

const model: DeviceModelSpec = {
  properties: [
    { name: 'level', type: 'INT', accessMode: 'ReadWrite' },
    { name: 'temp', type: 'DOUBLE', accessMode: 'ReadOnly' },
  ],
};
const spec = (level?: string): DeviceSpec => ({
  deviceModelRef: { name: 'm' },
  properties: [{ name: 'level', ...(level ? { desired: { value: level } } : {}) }, { name: 'temp' }],
});

test('spec sync creates typed twins and takes desired values as cloud versions', () => {
  const { doc, document } = syncWithSpec(emptyDoc(), spec('5'), model, 1000);
  assert.equal(doc.twins.level?.type, 'int');
  assert.equal(doc.twins.temp?.type, 'float');
  assert.deepEqual(doc.twins.level?.expected, { value: '5', timestamp: 1000 });
  assert.deepEqual(doc.twins.level?.expectedVersion, { cloud: 1, edge: 0 });
  assert.deepEqual(Object.keys(document).sort(), ['level', 'temp']);
  assert.deepEqual(computeDelta(doc), { level: '5' });
  // an unchanged spec changes nothing, even after an edge set
  const edge = applyPatch(doc, { level: { expected: '7' } }, 'edge', 2000).doc;
  const again = syncWithSpec(edge, spec('5'), model, 3000);
  assert.equal(again.doc.twins.level?.expected?.value, '7');
  assert.deepEqual(again.document, {});
  // a changed spec value wins
  assert.equal(syncWithSpec(edge, spec('9'), model, 4000).doc.twins.level?.expected?.value, '9');
  // a property dropped from the spec loses its twin
  const dropped = syncWithSpec(doc, { ...spec('5'), properties: [{ name: 'level' }] }, model, 5000);
  assert.equal(dropped.doc.twins.temp, undefined);
  assert.equal(dropped.document.temp?.current, null);
});

test('edge updates bump the edge counter; stale versions conflict and change nothing', () => {
  let doc = syncWithSpec(emptyDoc(), spec('5'), model, 0).doc;
  const r = applyPatch(doc, { level: { actual: '5' } }, 'edge', 10);
  doc = r.doc;
  assert.deepEqual(doc.twins.level?.actualVersion, { cloud: 0, edge: 1 });
  assert.deepEqual(computeDelta(doc), {});
  assert.equal(r.document.level?.last?.actual, undefined);
  assert.equal(r.document.level?.current?.actual?.value, '5');
  // the same actual again: a fresh timestamp, no new version, no document entry
  const same = applyPatch(doc, { level: { actual: '5' } }, 'edge', 20);
  assert.equal(same.doc.twins.level?.actual?.timestamp, 20);
  assert.deepEqual(same.doc.twins.level?.actualVersion, { cloud: 0, edge: 1 });
  assert.deepEqual(same.document, {});
  assert.throws(() => applyPatch(doc, { level: { expected: '6', expectedVersion: { cloud: 0, edge: 0 } } }, 'edge', 30), (e: unknown) => isConflictError(e));
  const ok = applyPatch(doc, { level: { expected: '6', expectedVersion: { cloud: 1, edge: 3 } } }, 'edge', 30);
  assert.deepEqual(ok.doc.twins.level?.expectedVersion, { cloud: 1, edge: 3 });
  assert.equal(doc.twins.level?.expected?.value, '5', 'input document untouched');
});

test('mapper twins are optional and deletable; spec twins are not', () => {
  let doc = syncWithSpec(emptyDoc(), spec(), model, 0).doc;
  doc = applyPatch(doc, { fw: { actual: '1.0', type: 'string' } }, 'edge', 1).doc;
  assert.equal(doc.twins.fw?.optional, true);
  const del = applyPatch(doc, { fw: null }, 'edge', 2);
  assert.equal(del.doc.twins.fw, undefined);
  assert.equal(del.document.fw?.current, null);
  assert.throws(() => applyPatch(doc, { level: null }, 'edge', 3), (e: unknown) => isValidationError(e) && e.issues[0]!.path === 'twin.level');
});

test('status round trip keeps values, versions and health', () => {
  let doc = syncWithSpec(emptyDoc(), spec('5'), model, 100).doc;
  doc = applyPatch(doc, { level: { actual: '4' }, temp: { actual: '21.5' } }, 'edge', 200).doc;
  doc = { ...doc, state: 'unhealthy', errorCount: 3, consecutiveErrors: 1, lastError: 'crc', lastErrorTime: '2026-01-01T00:00:00.000Z' };
  const st = toStatus(doc);
  assert.deepEqual(st.twins.map((t) => t.propertyName), ['level', 'temp']);
  assert.deepEqual(st.twins[0]!.reported, { value: '4', metadata: { timestamp: '200', type: 'int' } });
  const back = fromStatus(JSON.parse(JSON.stringify(st)));
  assert.deepEqual(back, doc);
  assert.deepEqual(toStatus(doc, (n) => n === 'temp').twins.map((t) => t.propertyName), ['temp']);
  assert.deepEqual(fromStatus(null), emptyDoc());
  assert.deepEqual(fromStatus({ state: 'bogus', twins: 'x' }), emptyDoc());
});

test('the spelling a mapper uses for a state is kept beside it (KubeEdge answers with it); the states of the node drop it', () => {
  const d0 = emptyDoc();
  const d1 = withState(d0, 'ok', 'OK');
  assert.deepEqual([d1.state, stateText(d1)], ['ok', 'OK']);
  assert.equal(toStatus(d1).state, 'ok', 'the Device status keeps the canonical word');
  const d2 = withState(d1, 'online');
  assert.deepEqual([d2.state, stateText(d2), 'stateText' in d2], ['online', 'online', false]);
  assert.equal(stateText(withState(d0, 'offline', 'offline')), 'offline');
  assert.equal(withState(d0, 'ok', 'online').stateText, undefined, 'only a spelling of the same state');
});

test('a patch never changes the document it is applied to: untouched twins are shared, touched ones are new objects', () => {
  const { doc } = syncWithSpec(emptyDoc(), spec('5'), model, 1000);
  const frozen = JSON.stringify(doc);
  const { doc: next, document } = applyPatch(doc, { temp: { actual: '21.5' } }, 'edge', 2000);
  assert.equal(JSON.stringify(doc), frozen);
  assert.equal(next.twins.level, doc.twins.level);
  assert.notEqual(next.twins.temp, doc.twins.temp);
  assert.equal(document.temp?.last, doc.twins.temp);
  assert.equal(document.temp?.current, next.twins.temp);
  assert.deepEqual(next.twins.temp?.actual, { value: '21.5', timestamp: 2000 });
  assert.equal(doc.twins.temp?.actual, undefined);
  // a second patch on the first's result leaves that one as it was
  const second = JSON.stringify(next);
  applyPatch(next, { temp: { actual: '22' }, level: { expected: '7' } }, 'edge', 3000);
  assert.equal(JSON.stringify(next), second);
});

test('a status is built with its keys in sorted order (the store serialises it in one native pass)', () => {
  const { doc } = syncWithSpec(emptyDoc(), spec('5'), model, 1000);
  const reported = applyPatch(doc, { temp: { actual: '21.5' }, level: { actual: '4' } }, 'edge', 2000).doc;
  for (const d of [doc, reported, { ...withState(reported, 'online'), lastOnlineTime: 't', lastError: 'e', lastErrorTime: 'u' }]) {
    const st = toStatus(d);
    assert.equal(JSON.stringify(st), stableStringify(st));
  }
});
