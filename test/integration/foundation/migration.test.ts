/** Upgrading a store written by an older schema (committed fixtures) keeps every row; objects become whole manifests. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { schemaVersion } from '../../../src/lib/sqlite.js';
import { parseConfigMap } from '../../../src/contract/resources/configmap.js';
import { parseDevice, parseDeviceModel } from '../../../src/contract/resources/device.js';
import { parseStored } from '../../../src/contract/resources/kinds.js';
import { parsePod } from '../../../src/contract/resources/pod.js';
import { NODE_MIGRATIONS } from '../../../src/store/migrations/index.js';
import { openNodeStore } from '../../../src/store/store.js';
import { Uplink } from '../../../src/store/uplink.js';
import { ROOT, tmpDir } from '../../helpers/tmp.js';

test('a schema-1 store upgrades to the current schema with its data intact', (t) => {
  const file = join(tmpDir(t), 'old.db');
  const old = new Database(file);
  old.exec(readFileSync(join(ROOT, 'test/fixtures/store-v1.sql'), 'utf8'));
  assert.equal(old.pragma('user_version', { simple: true }), 1);
  old.close();

  const s = openNodeStore(file);
  t.after(() => s.close());
  assert.equal(schemaVersion(s.db), NODE_MIGRATIONS.length);
  const pod = s.resources.get({ kind: 'Pod', namespace: 'default', name: 'web' });
  assert.ok(pod);
  assert.equal(pod.uid, '6f1c1d52-0d2e-4c1e-9a54-3f8f0a4f6b11');
  assert.equal(pod.resourceVersion, 7);
  assert.deepEqual(pod.status, { phase: 'Running' });
  assert.equal(pod.origin, 'cloud', 'rows from before origins existed count as cloud objects');
  // objects become whole manifests named by their key (schema 3)
  assert.deepEqual(pod.spec, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default' }, spec: { containers: [{ image: 'nginx:alpine', name: 'web' }] } });
  assert.deepEqual(s.resources.get({ kind: 'ConfigMap', namespace: 'factory', name: 'settings' })?.spec, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'settings', namespace: 'factory' },
    data: { mode: 'eco' },
  });
  // The tables added by later migrations work.
  s.outbox.enqueueState('Pod/default/web', 'up', '{}');
  assert.equal(s.outbox.stats().rows, 1);
  s.meta.set('desired.version', '3');
  assert.equal(s.meta.get('desired.version'), '3');
});

test('a schema-2 store (Device and DeviceModel kept as their spec) upgrades to whole manifests the node reads offline', (t) => {
  const file = join(tmpDir(t), 'v2.db');
  const old = new Database(file);
  old.exec(readFileSync(join(ROOT, 'test/fixtures/store-v2.sql'), 'utf8'));
  const before = old.prepare('SELECT kind, namespace, name, uid, resource_version, status, origin, created_at, updated_at FROM resources ORDER BY kind, name').all();
  old.close();

  const s = openNodeStore(file);
  t.after(() => s.close());
  assert.equal(schemaVersion(s.db), NODE_MIGRATIONS.length);
  const after = s.db.prepare('SELECT kind, namespace, name, uid, resource_version, status, origin, created_at, updated_at FROM resources ORDER BY kind, name').all();
  assert.deepEqual(after, before, 'only the spec column changes: no version bump, status and origin kept');

  const model = s.resources.get({ kind: 'DeviceModel', namespace: 'default', name: 'thermostat' })!;
  assert.equal(parseStored(parseDeviceModel, model.spec, model).spec.protocol, 'virtual');
  const device = s.resources.get({ kind: 'Device', namespace: 'plant', name: 'thermo-1' })!;
  const d = parseStored(parseDevice, device.spec, device);
  assert.deepEqual([d.apiVersion, d.kind, d.metadata.name, d.metadata.namespace], ['devices.kubeedge.io/v1beta1', 'Device', 'thermo-1', 'plant']);
  assert.equal(d.spec.properties[0]?.desired?.value, '21');
  const pod = s.resources.get({ kind: 'Pod', namespace: 'default', name: 'web' })!;
  assert.equal(parseStored(parsePod, pod.spec, pod).spec.containers[0]?.image, 'nginx:alpine', 'a manifest stays as it was');
  const cm = s.resources.get({ kind: 'ConfigMap', namespace: 'default', name: 'local-cm' })!;
  assert.deepEqual(parseStored(parseConfigMap, cm.spec, cm).data, { a: '1' });
  // the uplink's state is untouched
  const uplink = new Uplink(s, 'n1');
  assert.deepEqual(uplink.applied(), { epoch: 'e1', version: 5 });
  assert.equal(uplink.backlog().rows, 1);
});

test('reopening an up-to-date store runs no migration and changes nothing', (t) => {
  const file = join(tmpDir(t), 'n.db');
  const a = openNodeStore(file);
  a.resources.put({ kind: 'ConfigMap', namespace: 'default', name: 'x' }, { data: {} });
  a.close();
  const b = openNodeStore(file);
  t.after(() => b.close());
  assert.equal(b.resources.list('ConfigMap').length, 1);
  assert.equal(schemaVersion(b.db), NODE_MIGRATIONS.length);
});
