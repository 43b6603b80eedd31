/** Namespace lifecycle and garbage collection, as controllers over the in-process API client. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject, OwnerReference } from '../../../../src/contract/kube/types.js';
import { createLogger } from '../../../../src/core/logger.js';
import { startControllers } from '../../../../src/relay/controllers/index.js';
import { waitFor } from '../../../helpers/wait.js';
import { CM, configMap, fixture, NS, widget, widgetDef } from '../apiserver/fixture.js';

const log = createLogger({ level: 'silent', format: 'json' }, 'test');
const ownedBy = (o: KubeObject, block = false): OwnerReference => ({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name!, uid: o.metadata.uid!, ...(block ? { blockOwnerDeletion: true } : {}) });

test('namespace controller: default is made; a deleted namespace goes Terminating, loses what it holds, then goes', async (t) => {
  const f = await fixture();
  await f.admin.delete(NS, undefined, 'default').catch(() => undefined);
  const c = await startControllers(f.core, log);
  t.after(() => c.stop());
  assert.ok(await f.admin.find(NS, undefined, 'default'));
  await f.admin.create(NS, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
  await f.admin.create(CM, configMap('a', {}, 'team'));
  await f.admin.create(widgetDef, widget('bound', { spec: { nodeName: 'pi-1' } }, 'team'));
  await f.admin.create(CM, configMap('elsewhere'));
  const phases: string[] = [];
  await f.admin.watch(NS, undefined, { fieldSelector: 'metadata.name=team' }, (e) => phases.push(`${e.type}:${((e.object as KubeObject).status as { phase?: string } | undefined)?.phase}`));
  await f.admin.delete(NS, undefined, 'team');
  await waitFor('the configmap deleted', async () => !(await f.admin.find(CM, 'team', 'a')));
  // the bound widget waits for its node: so does the namespace
  await c.idle();
  const stuck = await f.admin.get(NS, undefined, 'team');
  assert.equal((stuck.status as { phase: string }).phase, 'Terminating');
  const w = await f.admin.get(widgetDef, 'team', 'bound');
  assert.ok(w.metadata.deletionTimestamp);
  await f.admin.delete(widgetDef, 'team', 'bound', { gracePeriodSeconds: 0 });
  await waitFor('namespace gone', async () => !(await f.admin.find(NS, undefined, 'team')));
  assert.ok(await f.admin.find(CM, 'default', 'elsewhere'));
  assert.deepEqual(phases.filter((p) => p.startsWith('MODIFIED:Terminating')).length > 0 && phases.at(-1), 'DELETED:Terminating');
});

test('garbage collection: background deletes dependents after the owner; orphan keeps them without the reference', async (t) => {
  const f = await fixture();
  const c = await startControllers(f.core, log);
  t.after(() => c.stop());
  const owner = await f.admin.create(CM, configMap('owner'));
  await f.admin.create(CM, configMap('dep1', {}, 'default', { ownerReferences: [ownedBy(owner)] }));
  await f.admin.create(widgetDef, widget('dep2', { metadata: { name: 'dep2', ownerReferences: [ownedBy(owner)] } }));
  const other = await f.admin.create(CM, configMap('other'));
  await f.admin.create(CM, configMap('two-owners', {}, 'default', { ownerReferences: [ownedBy(owner), ownedBy(other)] }));
  await f.admin.delete(CM, 'default', 'owner', { propagationPolicy: 'Background' });
  await waitFor('dependents deleted', async () => !(await f.admin.find(CM, 'default', 'dep1')) && !(await f.admin.find(widgetDef, 'default', 'dep2')));
  const survivor = await waitFor('dangling reference dropped', async () => {
    const o = await f.admin.get(CM, 'default', 'two-owners');
    return o.metadata.ownerReferences?.length === 1 && o;
  });
  assert.equal(survivor.metadata.ownerReferences![0]!.name, 'other');

  const o2 = await f.admin.create(CM, configMap('o2'));
  await f.admin.create(CM, configMap('kept', {}, 'default', { ownerReferences: [ownedBy(o2)] }));
  await f.admin.delete(CM, 'default', 'o2', { propagationPolicy: 'Orphan' });
  await waitFor('owner gone after orphaning', async () => !(await f.admin.find(CM, 'default', 'o2')));
  const kept = await f.admin.get(CM, 'default', 'kept');
  assert.equal(kept.metadata.ownerReferences?.length ?? 0, 0);
});

test('garbage collection: foreground keeps the owner (foregroundDeletion) until its blocking dependents are gone', async (t) => {
  const f = await fixture();
  const c = await startControllers(f.core, log);
  t.after(() => c.stop());
  const owner = await f.admin.create(CM, configMap('owner'));
  // a dependent that itself waits (bound to a node), blocking its owner's deletion
  await f.admin.create(widgetDef, widget('slow', { metadata: { name: 'slow', ownerReferences: [ownedBy(owner, true)] }, spec: { nodeName: 'pi-1' } }));
  await f.admin.create(CM, configMap('fast', {}, 'default', { ownerReferences: [ownedBy(owner, true)] }));
  const r = await f.admin.delete(CM, 'default', 'owner', { propagationPolicy: 'Foreground' });
  assert.deepEqual(r.object.metadata.finalizers, ['foregroundDeletion']);
  await waitFor('fast dependent deleted', async () => !(await f.admin.find(CM, 'default', 'fast')));
  await c.idle();
  assert.ok(await f.admin.find(CM, 'default', 'owner'), 'the owner waits for the blocking dependent');
  assert.ok((await f.admin.get(widgetDef, 'default', 'slow')).metadata.deletionTimestamp);
  await f.admin.delete(widgetDef, 'default', 'slow', { gracePeriodSeconds: 0 });
  await waitFor('owner gone', async () => !(await f.admin.find(CM, 'default', 'owner')));
});

test('controllers restart from the store alone: work left while they were stopped is done on start', async (t) => {
  const f = await fixture();
  const owner = await f.admin.create(CM, configMap('owner'));
  await f.admin.create(CM, configMap('dep', {}, 'default', { ownerReferences: [ownedBy(owner)] }));
  await f.admin.create(NS, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'gone-soon' } });
  // no controllers running: the owner goes, the namespace is marked for deletion
  await f.admin.delete(CM, 'default', 'owner');
  await f.admin.delete(NS, undefined, 'gone-soon');
  assert.ok(await f.admin.find(CM, 'default', 'dep'));
  const c = await startControllers(f.core, log);
  t.after(() => c.stop());
  await waitFor('orphaned dependent collected', async () => !(await f.admin.find(CM, 'default', 'dep')));
  await waitFor('namespace finished', async () => !(await f.admin.find(NS, undefined, 'gone-soon')));
});

test('events expire an hour after they were last seen', async (t) => {
  const f = await fixture();
  const c = await startControllers(f.core, log);
  t.after(() => c.stop());
  const ev = (name: string, last: string): KubeObject => ({
    apiVersion: 'v1', kind: 'Event', metadata: { name, namespace: 'default' }, involvedObject: { kind: 'Pod', name: 'p', namespace: 'default' }, reason: 'X', lastTimestamp: last,
  });
  await f.admin.create({ group: '', resource: 'events' }, ev('old', '2025-12-31T22:59:59Z'));
  await f.admin.create({ group: '', resource: 'events' }, ev('recent', '2025-12-31T23:30:00Z'));
  assert.equal(await c.events.sweep(), 1);
  assert.deepEqual((await f.admin.list({ group: '', resource: 'events' }, 'default')).items.map((e) => e.metadata.name), ['recent']);
});
