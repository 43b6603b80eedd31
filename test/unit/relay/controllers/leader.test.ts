/**
 * Leader election over a Lease: the pure step (client-go's rules), then two electors on one real
 * SQLite store — the holder keeps the Lease while it renews, a holder cut off from the store stops
 * leading before the other starts, a clean stop hands over at once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../../../../src/contract/kube/types.js';
import { createLogger } from '../../../../src/core/logger.js';
import { controllerIdentity } from '../../../../src/relay/apiserver/authz.js';
import { ApiClient } from '../../../../src/relay/apiserver/client.js';
import { ApiCore } from '../../../../src/relay/apiserver/core.js';
import { ResourceRegistry } from '../../../../src/relay/apiserver/registry.js';
import { systemClock } from '../../../../src/relay/controllers/clock.js';
import { startControllers } from '../../../../src/relay/controllers/index.js';
import { LeaseElector, leaseParamIssues, leaseStep, observe, type LeaseParams } from '../../../../src/relay/controllers/leader.js';
import { builtinKinds } from '../../../../src/relay/kinds/index.js';
import type { LeaseSpec } from '../../../../src/relay/kinds/lease.js';
import { parseRelayConfig } from '../../../../src/relay/config.js';
import * as patch from '../../../../src/relay/patch/index.js';
import type { ObjectStore } from '../../../../src/relay/store/objects.js';
import { SqliteObjectStore } from '../../../../src/relay/store/objects-sqlite.js';
import { waitFor } from '../../../helpers/wait.js';

const log = createLogger({ level: 'silent', format: 'json' }, 'test');
const LEASES = { group: 'coordination.k8s.io', resource: 'leases' };
const params = (identity: string): LeaseParams => ({ namespace: 'kube-system', name: 'ctl', identity, leaseDurationMs: 1000, renewDeadlineMs: 600, retryPeriodMs: 100 });
const lease = (spec: LeaseSpec, rv = '7'): KubeObject => ({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'ctl', namespace: 'kube-system', resourceVersion: rv }, spec: { ...spec } });
const T0 = Date.parse('2026-01-01T00:00:00Z');

test('leaseStep: create when absent, wait while another holds it, take over once unchanged for its duration', () => {
  const p = params('b');
  const created = leaseStep(undefined, undefined, p, T0);
  assert.equal(created.action, 'create');
  assert.deepEqual(created.action === 'create' && created.spec, { holderIdentity: 'b', leaseDurationSeconds: 1, acquireTime: '2026-01-01T00:00:00.000000Z', renewTime: '2026-01-01T00:00:00.000000Z', leaseTransitions: 0 });
  const held = lease({ holderIdentity: 'a', leaseDurationSeconds: 1, acquireTime: 'x', renewTime: 'y', leaseTransitions: 3 });
  const seen = observe(undefined, held, T0);
  assert.deepEqual(leaseStep(held, seen, p, T0 + 999), { action: 'wait', holder: 'a' });
  // the same record seen again keeps the first moment: the holder's renewTime is never trusted
  assert.equal(observe(seen, held, T0 + 500).at, T0);
  const taken = leaseStep(held, observe(seen, held, T0 + 1000), p, T0 + 1000);
  assert.equal(taken.action, 'update');
  assert.equal(taken.action === 'update' && taken.resourceVersion, '7');
  assert.equal(taken.action === 'update' && taken.spec.leaseTransitions, 4);
  assert.equal(taken.action === 'update' && taken.spec.holderIdentity, 'b');
  // a renewed record is a change: the wait starts again
  const renewed = lease({ holderIdentity: 'a', leaseDurationSeconds: 1, acquireTime: 'x', renewTime: 'z', leaseTransitions: 3 });
  assert.equal(leaseStep(renewed, observe(seen, renewed, T0 + 1000), p, T0 + 1500).action, 'wait');
});

test('leaseStep: the holder renews keeping acquireTime and transitions; a released Lease is free after 1 s', () => {
  const mine = lease({ holderIdentity: 'a', leaseDurationSeconds: 1, acquireTime: '2025-12-31T00:00:00.000000Z', renewTime: 'y', leaseTransitions: 2 });
  const step = leaseStep(mine, observe(undefined, mine, T0), params('a'), T0);
  assert.equal(step.action, 'update');
  assert.equal(step.action === 'update' && step.spec.acquireTime, '2025-12-31T00:00:00.000000Z');
  assert.equal(step.action === 'update' && step.spec.leaseTransitions, 2);
  const released = lease({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 2 });
  // no holder: anyone may take it at once
  assert.equal(leaseStep(released, observe(undefined, released, T0), params('b'), T0).action, 'update');
});

test('leader election durations: client-go rules, refused with the field named', () => {
  assert.deepEqual(leaseParamIssues({ leaseDurationMs: 15000, renewDeadlineMs: 10000, retryPeriodMs: 2000 }), []);
  assert.throws(() => parseRelayConfig({ leaderElection: { leaseDurationSeconds: 5, renewDeadlineSeconds: 5 } }), /leaderElection\.leaseDurationSeconds.*greater than renewDeadlineSeconds/s);
  assert.throws(() => parseRelayConfig({ leaderElection: { renewDeadlineSeconds: 2, retryPeriodSeconds: 2 } }), /leaderElection\.renewDeadlineSeconds.*1\.2/s);
});

/** A replica's view of the store that can be cut off (a FAKE partition: one in-memory SQLite cannot lose its network). */
function partitionable(store: ObjectStore): { store: ObjectStore; cut(): void } {
  let cut = false;
  const guard = <A extends unknown[], R>(fn: (...a: A) => Promise<R>) => (...a: A): Promise<R> => (cut ? Promise.reject(new Error('connection to the store lost')) : fn(...a));
  return {
    cut: () => void (cut = true),
    store: {
      epoch: guard(() => store.epoch()),
      revision: guard(() => store.revision()),
      get: guard((k) => store.get(k)),
      list: guard((s) => store.list(s)),
      commit: guard((ops) => store.commit(ops)),
      watch: guard((s, r, e, g) => store.watch(s, r, e, g)),
      close: () => Promise.resolve(),
    },
  };
}

async function replicas(): Promise<{ store: SqliteObjectStore; elector(name: string, view?: ObjectStore): LeaseElector; admin: ApiClient }> {
  const store = SqliteObjectStore.open(':memory:');
  const core = (s: ObjectStore): ApiCore => new ApiCore({ store: s, registry: new ResourceRegistry(builtinKinds()), patch, now: () => new Date() });
  const admin = new ApiClient(core(store), controllerIdentity('test'), 'test');
  return {
    store,
    admin,
    elector: (name, view = store) => new LeaseElector(new ApiClient(core(view), controllerIdentity('leader-election'), 'test'), params(name), systemClock(), log),
  };
}

const holder = async (admin: ApiClient): Promise<LeaseSpec> => ((await admin.find(LEASES, 'kube-system', 'ctl'))?.spec ?? {}) as LeaseSpec;

test('two electors: the holder keeps the Lease while it renews; cut off, it stops leading before the other starts', async (t) => {
  const r = await replicas();
  const order: string[] = [];
  const a = partitionable(r.store);
  const ea = r.elector('a', a.store);
  const ca = ea.campaign(async () => void order.push('a:lead'), () => void order.push('a:abdicate'));
  t.after(() => ca.stop());
  await waitFor('a leads', () => order.includes('a:lead'));
  const eb = r.elector('b');
  const cb = eb.campaign(async () => void order.push('b:lead'), () => void order.push('b:abdicate'));
  t.after(() => cb.stop());
  // a renews many times over b's lease duration (15 renewals ≥ 1.5 s > 1 s): b never takes over
  let renewals = 0;
  const w = await r.store.watch({ group: 'coordination.k8s.io', resource: 'leases' }, await r.store.revision(), (e) => {
    if ((e.object.spec as LeaseSpec).holderIdentity === 'a') renewals++;
  });
  t.after(() => w.stop());
  await waitFor('a renewed 15 times', () => renewals >= 15, 20_000);
  assert.deepEqual(order, ['a:lead']);
  assert.equal(eb.leading, false);
  a.cut();
  await waitFor('b leads', () => order.includes('b:lead'), 20_000);
  assert.deepEqual(order, ['a:lead', 'a:abdicate', 'b:lead']);
  const spec = await holder(r.admin);
  assert.equal(spec.holderIdentity, 'b');
  assert.equal(spec.leaseTransitions, 1);
  assert.equal(ea.leading, false);
});

test('two electors: a clean stop releases the Lease and the other leads without waiting it out', async (t) => {
  const r = await replicas();
  const order: string[] = [];
  const ea = r.elector('a');
  const ca = ea.campaign(async () => void order.push('a:lead'), async () => void order.push('a:abdicate'));
  await waitFor('a leads', () => order.includes('a:lead'));
  const cb = r.elector('b').campaign(async () => void order.push('b:lead'), () => void order.push('b:abdicate'));
  t.after(() => cb.stop());
  await ca.stop();
  assert.equal((await holder(r.admin)).holderIdentity === 'a', false);
  await waitFor('b leads', () => order.includes('b:lead'), 20_000);
  assert.deepEqual(order, ['a:lead', 'a:abdicate', 'b:lead']);
});

test('two controller managers on one store: only the Lease holder runs controllers; a clean stop hands them over', async (t) => {
  const r = await replicas();
  const core = (): ApiCore => new ApiCore({ store: r.store, registry: new ResourceRegistry(builtinKinds()), patch, now: () => new Date() });
  const [a, b] = [await startControllers(core(), log, { leadership: r.elector('a') }), await startControllers(core(), log, { leadership: r.elector('b') })];
  t.after(() => b.stop());
  // (the electors' timers do not hold the process open: waitFor's do)
  await waitFor('a leads', () => a.workloads.leading);
  await a.workloads.started;
  assert.equal(b.workloads.leading, false);
  assert.throws(() => b.gc, /does not lead/);
  assert.ok(a.gc);
  // the leader's namespace controller made `default`
  assert.ok(await r.admin.find({ group: '', resource: 'namespaces' }, undefined, 'default'));
  await a.stop();
  assert.equal(a.workloads.leading, false);
  await waitFor('b leads', () => b.workloads.leading, 20_000);
  await b.workloads.started;
  assert.equal((await holder(r.admin)).holderIdentity, 'b');
});
