/** The API core's semantics, through the in-process client (the path every write takes). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isStatusError, type StatusError } from '../../../../src/contract/kube/status.js';
import type { KubeObject } from '../../../../src/contract/kube/types.js';
import { nodeIdentity, READ_ONLY } from '../../../../src/relay/apiserver/authz.js';
import { confirmTerminated } from '../../../../src/relay/apiserver/client.js';
import { configMap, CM, fixture, NS, widget, widgetDef } from './fixture.js';

async function refused(p: Promise<unknown>, code: number, reason?: string): Promise<StatusError> {
  try {
    await p;
  } catch (e) {
    assert.ok(isStatusError(e), `expected a StatusError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (reason) assert.equal(e.reason, reason);
    return e;
  }
  assert.fail(`expected ${code}`);
}

test('create: uid, creationTimestamp, generation 1, resourceVersion; generateName; server fields from the client ignored', async () => {
  const f = await fixture();
  const a = await f.admin.create(CM, configMap('a', { k: 'v' }, 'default', { uid: 'mine', creationTimestamp: '2000-01-01T00:00:00Z', generation: 9 }));
  assert.match(a.metadata.uid!, /^[0-9a-f-]{36}$/);
  assert.equal(a.metadata.creationTimestamp, '2026-01-01T00:00:00Z');
  assert.equal(a.metadata.generation, 1);
  assert.equal(a.metadata.resourceVersion, String(await f.store.revision()));
  assert.ok(a.metadata.managedFields?.some((m) => m.manager === 'test' && m.operation === 'Update'));
  const g = await f.admin.create(CM, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'web-', namespace: 'default' } });
  assert.match(g.metadata.name!, /^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  await refused(f.admin.create(CM, configMap('a')), 409, 'AlreadyExists');
  await refused(f.admin.create(CM, { ...configMap('rv'), metadata: { name: 'rv', namespace: 'default', resourceVersion: '3' } }), 400);
  await refused(f.admin.create(CM, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'default' } }), 422, 'Invalid');
});

test('the namespace must exist and not be terminating; default cannot be deleted', async () => {
  const f = await fixture();
  const e = await refused(f.admin.create(CM, configMap('a', {}, 'nope')), 404, 'NotFound');
  assert.equal(e.message, 'namespaces "nope" not found');
  await f.admin.create(NS, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
  await f.admin.delete(NS, undefined, 'team');
  const ns = await f.admin.get(NS, undefined, 'team');
  assert.ok(ns.metadata.deletionTimestamp, 'a namespace with its finalizer stays, being deleted');
  assert.deepEqual(ns.metadata.finalizers, ['kubernetes']);
  await refused(f.admin.create(CM, configMap('a', {}, 'team')), 403, 'Forbidden');
  await refused(f.admin.delete(NS, undefined, 'default'), 403, 'Forbidden');
});

test('validation: causes carry field paths; nothing is stored when refused', async () => {
  const f = await fixture();
  const before = await f.store.revision();
  const e = await refused(
    f.admin.create({ group: '', resource: 'secrets' }, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'Bad_Name', namespace: 'default', labels: { ok: 'not ok!' } }, data: { k: 'not base64!' } }),
    422,
    'Invalid',
  );
  const fields = e.status.details!.causes!.map((c) => c.field);
  assert.deepEqual(fields.sort(), ['data.k', 'metadata.labels', 'metadata.name']);
  assert.equal(e.status.details!.kind, 'Secret');
  assert.match(e.message, /^Secret "Bad_Name" is invalid: \[/);
  assert.equal(await f.store.revision(), before);
});

test('fieldValidation: Strict refuses unknown fields (400), Warn drops them with a warning, Ignore drops them silently', async () => {
  const f = await fixture();
  const obj = { ...configMap('u', { a: 'b' }), bogus: 1, metadata: { name: 'u', namespace: 'default', nope: true } } as KubeObject;
  const e = await refused(f.admin.create(CM, obj, { fieldValidation: 'Strict' }), 400, 'BadRequest');
  assert.match(e.message, /strict decoding error: unknown field "metadata.nope", unknown field "bogus"|strict decoding error: unknown field "bogus", unknown field "metadata.nope"/);
  const ctx = { identity: f.admin.identity, warnings: [] as string[] };
  const made = await f.core.create(ctx, f.admin.def(CM), 'default', obj, { fieldValidation: 'Warn' });
  assert.equal((made as Record<string, unknown>).bogus, undefined);
  assert.deepEqual(ctx.warnings.sort(), ['unknown field "bogus"', 'unknown field "metadata.nope"']);
  const quiet = { identity: f.admin.identity, warnings: [] as string[] };
  await f.core.create(quiet, f.admin.def(CM), 'default', { ...obj, metadata: { name: 'u2', namespace: 'default' } }, { fieldValidation: 'Ignore' });
  assert.deepEqual(quiet.warnings, []);
});

test('update: a stale resourceVersion is a 409 Conflict; no change writes nothing; generation counts spec changes only', async () => {
  const f = await fixture();
  const w = await f.admin.create(widgetDef, widget('w', { spec: { size: 1 } }));
  const w2 = await f.admin.update(widgetDef, { ...w, spec: { size: 2 } });
  assert.equal(w2.metadata.generation, 2);
  const e = await refused(f.admin.update(widgetDef, { ...w, spec: { size: 3 } }), 409, 'Conflict');
  assert.equal(e.message, 'Operation cannot be fulfilled on widgets.test.edgerelay.io "w": the object has been modified; please apply your changes to the latest version and try again');
  const rev = await f.store.revision();
  const same = await f.admin.update(widgetDef, w2);
  assert.equal(same.metadata.resourceVersion, w2.metadata.resourceVersion);
  assert.equal(await f.store.revision(), rev);
  const labelled = await f.admin.update(widgetDef, { ...w2, metadata: { ...w2.metadata, labels: { a: 'b' } } });
  assert.equal(labelled.metadata.generation, 2, 'metadata changes do not bump generation');
  // without a resourceVersion the update is unconditional
  const { resourceVersion: _, ...meta } = labelled.metadata;
  assert.equal((await f.admin.update(widgetDef, { ...labelled, metadata: meta, spec: { size: 5 } })).metadata.generation, 3);
});

test('status subresource: the main resource keeps the status, /status keeps everything else', async () => {
  const f = await fixture();
  const w = await f.admin.create(widgetDef, widget('w', { spec: { size: 1 }, status: { phase: 'ignored on create' } }));
  assert.equal(w.status, undefined);
  const s = await f.admin.updateStatus(widgetDef, { ...w, spec: { size: 99 }, status: { phase: 'Up' } });
  assert.deepEqual([s.spec, s.status], [{ size: 1 }, { phase: 'Up' }]);
  const m = await f.admin.update(widgetDef, { ...s, spec: { size: 2 }, status: { phase: 'Down' } });
  assert.deepEqual([m.spec, m.status], [{ size: 2 }, { phase: 'Up' }]);
  const p = await f.admin.patch(widgetDef, 'default', 'w', 'merge', { status: { phase: 'Patched' } }, { subresource: 'status' });
  assert.deepEqual(p.status, { phase: 'Patched' });
});

test('a Node keeps the status it is created with (Kubernetes\' node strategy), other kinds with a status subresource do not', async () => {
  const f = await fixture();
  const NODES = { group: '', resource: 'nodes' };
  const conditions = [{ type: 'Ready', status: 'Unknown', reason: 'NodeStatusNeverUpdated', lastHeartbeatTime: '2026-01-01T00:00:00Z', lastTransitionTime: '2026-01-01T00:00:00Z' }];
  const n = await f.admin.create(NODES, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, spec: {}, status: { conditions } });
  assert.deepEqual((n.status as { conditions: unknown }).conditions, conditions);
  await refused(f.admin.create(NODES, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n2' }, spec: {}, status: { conditions: [{ type: 'Ready', status: 'Maybe' }] } }), 422, 'Invalid');
  const w = await f.admin.create(widgetDef, widget('w2', { spec: { size: 1 }, status: { phase: 'ignored' } }));
  assert.equal(w.status, undefined);
});

test('patch: merge, JSON patch, strategic (415 for custom kinds), server-side apply with conflicts; dryRun stores nothing', async () => {
  const f = await fixture();
  await f.admin.create(CM, configMap('c', { a: '1' }));
  assert.deepEqual((await f.admin.patch(CM, 'default', 'c', 'merge', { data: { b: '2', a: null } })).data, { b: '2' });
  assert.deepEqual((await f.admin.patch(CM, 'default', 'c', 'json', [{ op: 'add', path: '/data/c', value: '3' }])).data, { b: '2', c: '3' });
  assert.deepEqual((await f.admin.patch(CM, 'default', 'c', 'strategic', { data: { d: '4' } })).data, { b: '2', c: '3', d: '4' });
  await f.admin.create(widgetDef, widget('w', { spec: { size: 1 } }));
  await refused(f.admin.patch(widgetDef, 'default', 'w', 'strategic', { spec: { size: 2 } }), 415, 'UnsupportedMediaType');
  await refused(f.admin.patch(CM, 'default', 'c', 'json', [{ op: 'test', path: '/data/b', value: 'x' }]), 422);
  await refused(f.admin.patch(CM, 'default', 'missing', 'merge', {}), 404, 'NotFound');
  // apply creates, then a second manager meets a conflict unless forced
  const applied = await f.admin.patch(CM, 'default', 'ssa', 'apply', configMap('ssa', { k: 'one' }), { fieldManager: 'alice' });
  assert.deepEqual(applied.data, { k: 'one' });
  const e = await refused(f.admin.patch(CM, 'default', 'ssa', 'apply', configMap('ssa', { k: 'two' }), { fieldManager: 'bob' }), 409, 'Conflict');
  assert.deepEqual(e.status.details!.causes!.map((c) => [c.reason, c.field]), [['FieldManagerConflict', '.data.k']]);
  assert.deepEqual((await f.admin.patch(CM, 'default', 'ssa', 'apply', configMap('ssa', { k: 'two' }), { fieldManager: 'bob', force: true })).data, { k: 'two' });
  await refused(f.admin.patch(CM, 'default', 'ssa', 'apply', configMap('ssa'), {}), 400);
  const rev = await f.store.revision();
  const dry = await f.admin.patch(CM, 'default', 'c', 'merge', { data: { z: '9' } }, { dryRun: true });
  assert.equal((dry.data as Record<string, string>).z, '9');
  await f.admin.create(CM, configMap('dry'), { dryRun: true });
  assert.equal(await f.store.revision(), rev);
  assert.equal(await f.admin.find(CM, 'default', 'dry'), undefined);
});

test('delete: preconditions, dryRun, finalizers keep the object until removed, then it goes', async () => {
  const f = await fixture();
  const c = await f.admin.create(CM, configMap('c', {}, 'default', { finalizers: ['example.com/hold'] }));
  await refused(f.admin.delete(CM, 'default', 'c', { preconditions: { uid: 'other' } }), 409, 'Conflict');
  await refused(f.admin.delete(CM, 'default', 'c', { preconditions: { resourceVersion: '1' } }), 409, 'Conflict');
  assert.equal((await f.admin.delete(CM, 'default', 'c', { dryRun: ['All'] })).gone, false);
  assert.equal((await f.admin.get(CM, 'default', 'c')).metadata.deletionTimestamp, undefined);
  const r = await f.admin.delete(CM, 'default', 'c');
  assert.equal(r.gone, false);
  assert.equal(r.object.metadata.deletionTimestamp, '2026-01-01T00:00:00Z');
  assert.equal(r.object.metadata.deletionGracePeriodSeconds, 0);
  const cur = await f.admin.get(CM, 'default', 'c');
  await refused(f.admin.update(CM, { ...cur, metadata: { ...cur.metadata, finalizers: ['example.com/hold', 'another'] } }), 422, 'Invalid');
  await f.admin.update(CM, { ...cur, metadata: { ...cur.metadata, finalizers: [] } });
  assert.equal(await f.admin.find(CM, 'default', 'c'), undefined);
  await refused(f.admin.delete(CM, 'default', 'c'), 404);
  void c;
});

test('graceful deletion: an object bound to a node stays Terminating until the node confirms (grace 0), an admin may force', async () => {
  const f = await fixture();
  await f.admin.create(widgetDef, widget('bound', { spec: { nodeName: 'pi-1' } }));
  await f.admin.create(widgetDef, widget('free', { spec: {} }));
  assert.equal((await f.admin.delete(widgetDef, 'default', 'free')).gone, true, 'nothing to wait for without a node');
  const r = await f.admin.delete(widgetDef, 'default', 'bound');
  assert.equal(r.gone, false);
  assert.equal(r.object.metadata.deletionGracePeriodSeconds, 30);
  assert.equal(r.object.metadata.deletionTimestamp, '2026-01-01T00:00:30Z');
  assert.equal((await f.admin.delete(widgetDef, 'default', 'bound')).gone, false, 'a second delete changes nothing');
  // another node may not confirm; its own node may
  const uid = r.object.metadata.uid!;
  await refused(f.client(nodeIdentity('pi-2')).delete(widgetDef, 'default', 'bound', { gracePeriodSeconds: 0, preconditions: { uid } }), 403, 'Forbidden');
  await refused(confirmTerminated(f.client(nodeIdentity('pi-1')), widgetDef, 'default', 'bound', 'another-uid'), 409, 'Conflict');
  assert.equal((await confirmTerminated(f.client(nodeIdentity('pi-1')), widgetDef, 'default', 'bound', uid)).gone, true);
  await f.admin.create(widgetDef, widget('forced', { spec: { nodeName: 'offline' } }));
  assert.equal((await f.admin.delete(widgetDef, 'default', 'forced', { gracePeriodSeconds: 0 })).gone, true);
});

test('authorization: read-only reads all but Secrets; a node writes only the status of what is bound to it', async () => {
  const f = await fixture();
  const ro = f.client(READ_ONLY);
  await f.admin.create(CM, configMap('c'));
  assert.equal((await ro.list(CM, 'default')).items.length, 1);
  const e = await refused(ro.create(CM, configMap('x')), 403, 'Forbidden');
  assert.equal(e.message, 'configmaps is forbidden: User "read-only" cannot create resource "configmaps" in API group "" in the namespace "default"');
  await refused(ro.delete(CM, 'default', 'c'), 403);
  await refused(ro.list({ group: '', resource: 'secrets' }, 'default'), 403);
  const node = f.client(nodeIdentity('pi-1'));
  const mine = await f.admin.create(widgetDef, widget('mine', { spec: { nodeName: 'pi-1' } }));
  const theirs = await f.admin.create(widgetDef, widget('theirs', { spec: { nodeName: 'pi-2' } }));
  await node.updateStatus(widgetDef, { ...mine, status: { phase: 'Running' } });
  await refused(node.updateStatus(widgetDef, { ...theirs, status: { phase: 'Running' } }), 403);
  await refused(node.update(widgetDef, { ...mine, spec: { nodeName: 'pi-1', size: 9 } }), 403);
  await refused(node.list({ group: '', resource: 'secrets' }), 403);
  assert.equal((await node.get(widgetDef, 'default', 'theirs')).metadata.name, 'theirs');
});

test('list: label and field selectors (metadata.name, metadata.namespace, the kind\'s fields), limit and continue', async () => {
  const f = await fixture();
  await f.admin.create(NS, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'b' } });
  for (const [ns, n, node] of [['default', 'w1', 'pi-1'], ['default', 'w2', 'pi-2'], ['b', 'w3', 'pi-1'], ['b', 'w4', '']] as const) {
    await f.admin.create(widgetDef, widget(n, { metadata: { name: n, labels: { node: node || 'none' } }, spec: node ? { nodeName: node } : {} }, ns));
  }
  const names = async (o: Parameters<typeof f.admin.list>[2], ns?: string) => (await f.admin.list(widgetDef, ns, o)).items.map((x) => x.metadata.name);
  assert.deepEqual(await names({ fieldSelector: 'spec.nodeName=pi-1' }), ['w3', 'w1']);
  assert.deepEqual(await names({ fieldSelector: 'metadata.namespace=default,metadata.name!=w1' }), ['w2']);
  assert.deepEqual(await names({ labelSelector: 'node in (none,pi-2)' }), ['w4', 'w2']);
  assert.deepEqual(await names({}, 'b'), ['w3', 'w4']);
  await refused(f.admin.list(widgetDef, undefined, { fieldSelector: 'status.phase=Running' }), 400, 'BadRequest');
  await refused(f.admin.list(widgetDef, undefined, { labelSelector: 'a b c' }), 400, 'BadRequest');
  const p1 = await f.admin.list(widgetDef, undefined, { limit: 3 });
  assert.equal(p1.items.length, 3);
  assert.equal(p1.metadata.remainingItemCount, 1);
  const p2 = await f.admin.list(widgetDef, undefined, { limit: 3, continue: p1.metadata.continue! });
  assert.deepEqual(p2.items.map((x) => x.metadata.name), ['w2']);
  assert.equal(p2.metadata.continue, undefined);
  await refused(f.admin.list(widgetDef, undefined, { continue: 'garbage' }), 400);
});

test('watch: from "0" the current objects then changes; from a revision exactly the changes after it; selector moves are ADDED/DELETED; too old is ERROR 410', async () => {
  const f = await fixture({ window: 100 });
  await f.admin.create(widgetDef, widget('a', { spec: { nodeName: 'pi-1' } }));
  const start = await f.store.revision();
  const seen: string[] = [];
  const w = await f.admin.watch(widgetDef, undefined, { resourceVersion: '0', fieldSelector: 'spec.nodeName=pi-1' }, (e) => seen.push(`${e.type}:${(e.object as KubeObject).metadata.name}`));
  const exact: string[] = [];
  await f.admin.watch(widgetDef, 'default', { resourceVersion: String(start) }, (e) => exact.push(`${e.type}:${(e.object as KubeObject).metadata.name}`));
  await f.admin.create(widgetDef, widget('b', { spec: { nodeName: 'pi-2' } }));
  await f.admin.patch(widgetDef, 'default', 'b', 'merge', { spec: { nodeName: 'pi-1' } });
  await f.admin.patch(widgetDef, 'default', 'a', 'merge', { spec: { nodeName: 'pi-3' } });
  await f.admin.delete(widgetDef, 'default', 'b', { gracePeriodSeconds: 0 });
  w.stop();
  await f.admin.create(widgetDef, widget('c', { spec: { nodeName: 'pi-1' } }));
  assert.deepEqual(seen, ['ADDED:a', 'ADDED:b', 'DELETED:a', 'DELETED:b']);
  assert.deepEqual(exact, ['ADDED:b', 'MODIFIED:b', 'MODIFIED:a', 'DELETED:b', 'ADDED:c']);
  for (let i = 0; i < 150; i++) await f.admin.create(CM, configMap(`x${i}`));
  const errors: unknown[] = [];
  const gone = await f.admin.watch(widgetDef, undefined, { resourceVersion: '2' }, (e) => errors.push(e));
  assert.equal(gone.active, false);
  assert.deepEqual(errors, [{ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: 2 (${await f.store.compacted()})`, reason: 'Expired', code: 410 } }]);
});
