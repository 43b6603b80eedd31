import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideDesired } from '../../../src/modules/edgehub/desired.js';

const doc = (version: number, epoch = 'e1', items: unknown[] = []) => ({ node: 'n1', epoch, version, kinds: ['ConfigMap'], items, timestamp: 0 });
const item = { kind: 'ConfigMap', namespace: 'default', name: 'c', uid: 'u', generation: 1, spec: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default' }, data: {} } };

test('a newer version is applied; equal or older ones are stale', () => {
  assert.equal(decideDesired(doc(3), 'n1', { epoch: 'e1', version: 2 }).action, 'apply');
  assert.equal(decideDesired(doc(2), 'n1', { epoch: 'e1', version: 2 }).action, 'stale');
  assert.equal(decideDesired(doc(1), 'n1', { epoch: 'e1', version: 2 }).action, 'stale');
  assert.equal(decideDesired(doc(1), 'n1', { epoch: '', version: 0 }).action, 'apply', 'first document');
});

test('a new relay epoch (store recreated) restarts version ordering', () => {
  assert.equal(decideDesired(doc(1, 'e2'), 'n1', { epoch: 'e1', version: 40 }).action, 'apply');
});

test('malformed documents are refused with field paths', () => {
  const d = decideDesired({ ...doc(1, 'e1', [item, { ...item, name: 'd', spec: [] }, item]), node: 'other' }, 'n1', { epoch: '', version: 0 });
  assert.equal(d.action, 'invalid');
  const paths = d.action === 'invalid' ? d.issues.map((i) => i.path) : [];
  assert.deepEqual(paths, ['node', 'items[1].spec', 'items[2]']);
  assert.equal(decideDesired({ ...doc(0) }, 'n1', { epoch: '', version: 0 }).action, 'invalid');
  assert.equal(decideDesired(null, 'n1', { epoch: '', version: 0 }).action, 'invalid');
});

test("the Node's labels: optional, and bounded (a key of 318 characters, a value of 64, more than 256 are refused)", () => {
  assert.equal(decideDesired({ ...doc(1), labels: { mapper: 'modbus' } }, 'n1', { epoch: '', version: 0 }).action, 'apply');
  const bad = decideDesired({ ...doc(1), labels: { ['k'.repeat(318)]: 'v', ok: 'x'.repeat(64) } }, 'n1', { epoch: '', version: 0 });
  assert.equal(bad.action, 'invalid');
  assert.deepEqual(bad.action === 'invalid' ? bad.issues.map((i) => i.path).sort() : [], [`labels.${'k'.repeat(318)}`, 'labels.ok']);
  const many = Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`k${i}`, 'v']));
  assert.equal(decideDesired({ ...doc(1), labels: many }, 'n1', { epoch: '', version: 0 }).action, 'invalid');
});
