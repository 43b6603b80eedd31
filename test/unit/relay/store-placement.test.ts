import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { KindRegistry, type Manifest } from '../../../src/contract/resources/kinds.js';
import { isValidationError } from '../../../src/core/errors.js';
import { placeObject } from '../../../src/relay/placement.js';
import { relayKindRegistry } from '../../../src/relay/registry.js';
import { SqliteRelayStore } from '../../../src/relay/store/sqlite.js';
import { buildDesired } from '../../../src/relay/sync.js';
import { tmpDir } from '../../helpers/tmp.js';

const now = new Date('2026-01-01T00:00:00Z');
const cm = (name: string, v: string): Manifest => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { v } });
const pod = (name: string, nodeName?: string): Manifest => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default' },
  spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'c', image: 'busybox' }] },
});

test('per-node versions: node-bound objects bump one node, fleet-wide objects bump all; unchanged bumps none', (t) => {
  const s = SqliteRelayStore.open(join(tmpDir(t), 'relay.db'));
  t.after(() => s.close());
  s.upsertNode('a', 'h', {}, now);
  s.upsertNode('b', 'h', {}, now);
  assert.deepEqual([s.desiredVersion('a'), s.desiredVersion('b')], [1, 1]);
  assert.deepEqual(s.applyObject(pod('p1'), 'a', now).affected, ['a']);
  assert.deepEqual([s.desiredVersion('a'), s.desiredVersion('b')], [2, 1]);
  assert.deepEqual(s.applyObject(cm('c1', '1'), '*', now).affected.sort(), ['a', 'b']);
  assert.deepEqual([s.desiredVersion('a'), s.desiredVersion('b')], [3, 2]);
  const again = s.applyObject(cm('c1', '1'), '*', now);
  assert.equal(again.result, 'unchanged');
  assert.deepEqual(again.affected, []);
  assert.equal(s.applyObject(cm('c1', '2'), '*', now).result, 'configured');
  assert.equal(s.getObject('ConfigMap', 'default', 'c1')!.generation, 2);
  // moving a pod to another node bumps both
  assert.deepEqual(s.applyObject(pod('p1'), 'b', now).affected.sort(), ['a', 'b']);
  const docA = buildDesired(s, 'a', now);
  const docB = buildDesired(s, 'b', now);
  assert.deepEqual(docA.items.map((i) => i.name), ['c1']);
  assert.deepEqual(docB.items.map((i) => `${i.kind}/${i.name}`), ['ConfigMap/c1', 'Pod/p1']);
  assert.equal(docA.epoch, s.epoch());
  assert.deepEqual(s.deleteObject('Pod', 'default', 'p1').affected, ['b']);
  assert.equal(s.deleteObject('Pod', 'default', 'p1').deleted, false);
});

test('the epoch survives a reopen; a new store has a new one', (t) => {
  const dir = tmpDir(t);
  const s1 = SqliteRelayStore.open(join(dir, 'a.db'));
  const e1 = s1.epoch();
  s1.close();
  const s2 = SqliteRelayStore.open(join(dir, 'a.db'));
  assert.equal(s2.epoch(), e1);
  s2.close();
  const s3 = SqliteRelayStore.open(join(dir, 'b.db'));
  assert.notEqual(s3.epoch(), e1);
  s3.close();
});

test('report dedup: a sequence at or below the high-water mark of its stream is a duplicate', (t) => {
  const s = SqliteRelayStore.open(join(tmpDir(t), 'relay.db'));
  t.after(() => s.close());
  assert.ok(s.acceptSeq('a', 's1', 5));
  assert.ok(!s.acceptSeq('a', 's1', 5));
  assert.ok(!s.acceptSeq('a', 's1', 3));
  assert.ok(s.acceptSeq('a', 's1', 6));
  assert.ok(s.acceptSeq('a', 's2', 1), 'a new store on the node is a new stream');
  assert.ok(s.acceptSeq('b', 's1', 1), 'per node');
});

test('bootstrap tokens expire', (t) => {
  const s = SqliteRelayStore.open(join(tmpDir(t), 'relay.db'));
  t.after(() => s.close());
  s.createToken('h1', new Date(now.getTime() + 1000), now);
  assert.ok(s.checkToken('h1', now));
  assert.ok(!s.checkToken('h1', new Date(now.getTime() + 1001)));
  assert.ok(!s.checkToken('nope', now));
});

test('placement: spec.nodeName, the --node parameter, the only node, or every node for config kinds', () => {
  assert.equal(placeObject(pod('p', 'x'), undefined, ['x', 'y']), 'x');
  assert.equal(placeObject(pod('p'), 'y', ['x', 'y']), 'y');
  assert.equal(placeObject(pod('p'), undefined, ['only']), 'only');
  assert.equal(placeObject(cm('c', '1'), undefined, ['x', 'y']), '*');
  const err = (() => {
    try {
      placeObject(pod('p'), undefined, ['x', 'y']);
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  assert.ok(isValidationError(err) && err.issues[0]!.path === 'spec.nodeName');
  assert.throws(() => placeObject(pod('p', 'x'), 'y', ['x', 'y']), /spec\.nodeName: is "x" but the object was sent to node "y"/);
});

test('manifests: generic checks name the field, then the kind schema', () => {
  const r = new KindRegistry();
  assert.throws(() => r.validate({ apiVersion: 'v1', kind: 'Widget', metadata: { name: 'a' } }), /kind: unsupported kind "Widget"/);
  assert.throws(() => r.validate({ apiVersion: 'v2', kind: 'ConfigMap', metadata: { name: 'a' } }), /apiVersion: must be one of v1/);
  assert.throws(() => r.validate({ apiVersion: 'v1', kind: 'ConfigMap' }), /metadata: required/);
  assert.throws(() => r.validate({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' }, spec: {} }), /spec: unknown field/);
  const m = r.validate({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', uid: 'x' }, data: { k: 'v' }, status: { x: 1 } });
  assert.deepEqual(m, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'default' }, data: { k: 'v' } });
  const full = relayKindRegistry();
  assert.throws(
    () => full.validate({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i', bogus: 1 }] } }),
    /spec\.containers\[0\]\.bogus/,
  );
  assert.throws(
    () => full.validate({ apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'Device', metadata: { name: 'd' }, spec: { deviceModelRef: { name: 'm' }, colour: 'red' } }),
    /spec\.colour/,
  );
});
