import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../../../../src/contract/kube/types.js';
import { isApplyConflictError, isPatchError, serverSideApply, trackUpdate, typeInfoFor, type ApplyOptions } from '../../../../src/relay/patch/index.js';

const typeInfo = typeInfoFor('apps', 'v1', 'Deployment')!;
const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-01T01:00:00Z');
const opts = (manager: string, over: Partial<ApplyOptions> = {}): ApplyOptions => ({ manager, force: false, apiVersion: 'apps/v1', typeInfo, now: t1, ...over });

function deploy(spec: Record<string, unknown>, labels: Record<string, string> = { app: 'x' }): Record<string, unknown> {
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'default', labels }, spec };
}
const containers = (...c: Record<string, unknown>[]) => ({ template: { spec: { containers: c } } });
const spec = (o: KubeObject) => o.spec as { replicas?: number; template: { spec: { containers: Record<string, unknown>[] } } };
const managers = (o: KubeObject) => (o.metadata.managedFields ?? []).map((m) => `${m.manager}/${m.operation}`);

test('create by apply: the object is the intent, owned by the applier in FieldsV1 with map-list keys', () => {
  const out = serverSideApply(undefined, deploy({ replicas: 2, ...containers({ name: 'c', image: 'i:1', ports: [{ containerPort: 80, protocol: 'TCP' }] }) }), opts('kubectl', { now: t0 }));
  assert.equal(spec(out).replicas, 2);
  const [entry] = out.metadata.managedFields!;
  assert.deepEqual({ ...entry, fieldsV1: undefined }, { manager: 'kubectl', operation: 'Apply', apiVersion: 'apps/v1', time: '2026-01-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: undefined });
  const dig = (o: unknown, ...keys: string[]) => keys.reduce((x, k) => (x as Record<string, unknown>)[k], o) as Record<string, unknown>;
  const c = dig(entry!.fieldsV1, 'f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"c"}');
  assert.deepEqual(Object.keys(c).sort(), ['.', 'f:image', 'f:name', 'f:ports']);
  assert.deepEqual(Object.keys(c['f:ports'] as object), ['k:{"containerPort":80,"protocol":"TCP"}']);
  assert.deepEqual(entry!.fieldsV1['f:metadata'], { 'f:labels': { 'f:app': {} } }, 'name and namespace are never recorded');
});

test('two appliers share a field set to the same value; a different value conflicts, force moves ownership', () => {
  const a = serverSideApply(undefined, deploy({ replicas: 2, ...containers({ name: 'c', image: 'i:1' }) }), opts('alice', { now: t0 }));
  const same = serverSideApply(a, deploy({ replicas: 2 }), opts('bob'));
  assert.deepEqual(managers(same), ['alice/Apply', 'bob/Apply']);
  assert.throws(
    () => serverSideApply(same, deploy({ replicas: 3 }), opts('carol')),
    (e) =>
      isApplyConflictError(e) &&
      e.message === 'Apply failed with 2 conflicts: conflicts with "alice":\n- .spec.replicas\nconflicts with "bob":\n- .spec.replicas' &&
      e.causes()[0]!.field === '.spec.replicas' &&
      e.causes()[0]!.message === 'conflict with "alice"',
  );
  const forced = serverSideApply(same, deploy({ replicas: 3 }), opts('carol', { force: true }));
  assert.equal(spec(forced).replicas, 3);
  const owners = (o: KubeObject) => o.metadata.managedFields!.filter((m) => JSON.stringify(m.fieldsV1).includes('f:replicas')).map((m) => m.manager);
  assert.deepEqual(owners(forced), ['carol']);
});

test('an Update owner conflicts with "<manager>" using <version> at <time>, as kubectl shows it', () => {
  const created = deploy({ replicas: 1 }) as unknown as KubeObject;
  created.metadata.managedFields = trackUpdate(undefined, created, { manager: 'kubectl-client-side-apply', operation: 'Update', apiVersion: 'apps/v1', typeInfo, now: t0 });
  assert.throws(
    () => serverSideApply(created, deploy({ replicas: 5 }), opts('kubectl')),
    (e) => isApplyConflictError(e) && e.message === 'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1 at 2026-01-01T00:00:00Z: .spec.replicas',
  );
});

test('a field dropped from the applier\'s intent is removed, unless another manager owns it', () => {
  const a = serverSideApply(undefined, deploy({ replicas: 2, ...containers({ name: 'c', image: 'i' }, { name: 's', image: 'side' }) }, { app: 'x', tier: 'web' }), opts('alice', { now: t0 }));
  // bob also manages the tier label (same value: shared)
  const b = serverSideApply(a, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', labels: { tier: 'web' } } }, opts('bob'));
  const c = serverSideApply(b, deploy({ ...containers({ name: 'c', image: 'i' }) }), opts('alice'));
  assert.equal(spec(c).replicas, undefined, 'replicas: only alice had it');
  assert.deepEqual(spec(c).template.spec.containers.map((x) => x.name), ['c'], 'the sidecar item goes with its fields');
  assert.deepEqual(c.metadata.labels, { app: 'x', tier: 'web' }, 'bob still owns tier');
});

test('a list item owned by someone else below survives its applier dropping it', () => {
  const a = serverSideApply(undefined, deploy({ ...containers({ name: 'c', image: 'i' }) }), opts('alice', { now: t0 }));
  const edited = JSON.parse(JSON.stringify(a)) as KubeObject;
  spec(edited).template.spec.containers[0]!.resources = { limits: { cpu: '1' } };
  edited.metadata.managedFields = trackUpdate(a, edited, { manager: 'kubectl-edit', operation: 'Update', apiVersion: 'apps/v1', typeInfo, now: t1 });
  const out = serverSideApply(edited, deploy({ replicas: 1 }), opts('alice'));
  assert.deepEqual(spec(out).template.spec.containers, [{ name: 'c', resources: { limits: { cpu: '1' } } }]);
});

test('trackUpdate: the writer takes the fields it changed, others lose them, removed fields leave every set', () => {
  const base = deploy({ replicas: 1, paused: true }) as unknown as KubeObject;
  base.metadata.managedFields = trackUpdate(undefined, base, { manager: 'kubectl-create', operation: 'Update', apiVersion: 'apps/v1', typeInfo, now: t0 });
  const next = JSON.parse(JSON.stringify(base)) as KubeObject;
  (next.spec as Record<string, unknown>).replicas = 4;
  delete (next.spec as Record<string, unknown>).paused;
  next.metadata.labels = { app: 'x', extra: 'y' };
  const mf = trackUpdate(base, { ...next, metadata: { ...next.metadata, managedFields: [] } }, { manager: 'kubectl-edit', operation: 'Update', apiVersion: 'apps/v1', typeInfo, now: t1 });
  const byName = Object.fromEntries(mf.map((m) => [m.manager, m]));
  assert.deepEqual(byName['kubectl-create']!.fieldsV1, { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } } });
  assert.deepEqual(byName['kubectl-edit']!.fieldsV1, { 'f:metadata': { 'f:labels': { 'f:extra': {} } }, 'f:spec': { 'f:replicas': {} } });
  assert.equal(byName['kubectl-edit']!.time, '2026-01-01T01:00:00Z');
  // a write that changes nothing adds no manager
  const again = trackUpdate(next, next, { manager: 'kubectl-label', operation: 'Update', apiVersion: 'apps/v1', typeInfo, now: t1 });
  assert.equal(again.some((m) => m.manager === 'kubectl-label'), false);
});

test('apply refuses a wrong apiVersion or managedFields in the body (400) and never changes the live object', () => {
  const live = serverSideApply(undefined, deploy({ replicas: 1 }), opts('kubectl', { now: t0 }));
  const before = JSON.stringify(live);
  assert.throws(() => serverSideApply(live, { ...deploy({}), apiVersion: 'apps/v1beta1' }, opts('kubectl')), (e) => isPatchError(e) && e.code === 400 && /Specified patch version: apps\/v1beta1, expected: apps\/v1/.test(e.message));
  assert.throws(() => serverSideApply(live, { ...deploy({}), metadata: { name: 'd', managedFields: [] } }, opts('kubectl')), (e) => isPatchError(e) && /managedFields must be nil/.test(e.message));
  assert.throws(() => serverSideApply(live, deploy({ ...containers({ name: 'c' }, { name: 'c' }) }), opts('kubectl')), (e) => isPatchError(e) && /duplicate entries/.test(e.message));
  assert.equal(JSON.stringify(live), before);
});

test('re-applying the same intent changes nothing, not even the applier\'s time', () => {
  const a = serverSideApply(undefined, deploy({ replicas: 2 }), opts('kubectl', { now: t0 }));
  const b = serverSideApply(a, deploy({ replicas: 2 }), opts('kubectl', { now: t1 }));
  assert.deepEqual(b, a);
});

test('custom kinds without a schema: maps granular (each key a member, as Kubernetes deduces), lists atomic', () => {
  const o = (props: unknown[], cfg: Record<string, unknown>) => ({ apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'Thing', metadata: { name: 't' }, spec: { properties: props, cfg } });
  const a = serverSideApply(undefined, o([{ name: 'p' }], { a: 1 }), { manager: 'alice', force: false, apiVersion: 'devices.kubeedge.io/v1beta1', typeInfo: undefined, now: t0 });
  assert.deepEqual(a.metadata.managedFields![0]!.fieldsV1, { 'f:spec': { '.': {}, 'f:cfg': { '.': {}, 'f:a': {} }, 'f:properties': {} } });
  assert.throws(
    () => serverSideApply(a, o([{ name: 'q' }], { b: 2 }), { manager: 'bob', force: false, apiVersion: 'devices.kubeedge.io/v1beta1', typeInfo: undefined, now: t1 }),
    (e) => isApplyConflictError(e) && e.conflicts.map((c) => c.path).join() === '.spec.properties',
  );
});

test('ignoredFields: status is neither taken from the intent nor owned', () => {
  const live = { ...deploy({ replicas: 1 }), status: { replicas: 1 } } as unknown as KubeObject;
  const out = serverSideApply(live, { ...deploy({ replicas: 1 }), status: { replicas: 9 } }, opts('kubectl', { ignoredFields: ['status'] }));
  assert.deepEqual(out.status, { replicas: 1 });
  assert.equal(JSON.stringify(out.metadata.managedFields).includes('f:status'), false);
});
