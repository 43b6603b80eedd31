/**
 * The daemonset planner, pure: which nodes get a daemon pod under required node affinity
 * (In, NotIn, Exists, DoesNotExist), taints and tolerations (NoSchedule: only where tolerated;
 * a NoSchedule taint added later keeps the pod there, NoExecute takes it away) and cordon
 * (daemon pods still go to a cordoned node: Kubernetes gives them the unschedulable toleration,
 * which the scheduler's filter then honours).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../../../../src/contract/kube/types.js';
import { TAINT_UNSCHEDULABLE } from '../../../../src/relay/kinds/node-lifecycle.js';
import { daemonPod, nodeFit, planDaemonSet, REVISION_HASH } from '../../../../src/relay/controllers/daemonset-plan.js';
import { filterReasons } from '../../../../src/relay/controllers/scheduler/predicates.js';

const NOW = new Date('2026-01-01T00:00:00Z');
type Taint = { key: string; value?: string; effect: string };

const node = (name: string, labels: Record<string, string> = {}, spec: { taints?: Taint[]; unschedulable?: boolean } = {}, ready = 'True'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name, labels },
  spec,
  status: { conditions: [{ type: 'Ready', status: ready }] },
});

const ds = (podSpec: Record<string, unknown>): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'DaemonSet',
  metadata: { name: 'mapper', namespace: 'default', uid: 'ds-uid', generation: 1 },
  spec: { selector: { matchLabels: { app: 'mapper' } }, template: { metadata: { labels: { app: 'mapper' } }, spec: { containers: [{ name: 'm', image: 'm:1' }], ...podSpec } } },
});

const affinity = (expr: Record<string, unknown>) => ({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [expr] }] } } } });

/** a running, Ready daemon pod of revision `hash` on `nodeName` */
const pod = (nodeName: string, hash = 'h1'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: `mapper-${nodeName}`, namespace: 'default', uid: `u-${nodeName}`, labels: { app: 'mapper', [REVISION_HASH]: hash }, creationTimestamp: '2025-12-31T00:00:00Z' },
  spec: { nodeName, containers: [{ name: 'm', image: 'm:1' }] },
  status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
});

const fleet = [node('x1', { zone: 'x' }), node('y1', { zone: 'y' }), node('bare')];
const placed = (d: KubeObject, nodes: KubeObject[], pods: KubeObject[] = []) => planDaemonSet(d, nodes, pods, 'h1', NOW).create.sort();

test('required node affinity: In, NotIn, Exists and DoesNotExist choose the nodes that get a daemon pod', () => {
  assert.deepEqual(placed(ds(affinity({ key: 'zone', operator: 'In', values: ['y', 'z'] })), fleet), ['y1']);
  assert.deepEqual(placed(ds(affinity({ key: 'zone', operator: 'NotIn', values: ['x'] })), fleet), ['bare', 'y1'], 'NotIn: nodes without the label too');
  assert.deepEqual(placed(ds(affinity({ key: 'zone', operator: 'Exists' })), fleet), ['x1', 'y1']);
  assert.deepEqual(placed(ds(affinity({ key: 'zone', operator: 'DoesNotExist' })), fleet), ['bare']);
  const plan = planDaemonSet(ds(affinity({ key: 'zone', operator: 'In', values: ['y'] })), fleet, [], 'h1', NOW);
  assert.equal(plan.status.desiredNumberScheduled, 1, 'only matching nodes are desired');
});

test('a pod whose node no longer matches the required affinity is deleted and counted misscheduled', () => {
  const d = ds(affinity({ key: 'zone', operator: 'In', values: ['x'] }));
  const relabelled = [node('x1', { zone: 'z' }), ...fleet.slice(1)];
  const plan = planDaemonSet(d, relabelled, [pod('x1')], 'h1', NOW);
  assert.deepEqual(plan.delete.map((p) => p.metadata.name), ['mapper-x1']);
  assert.deepEqual([plan.status.desiredNumberScheduled, plan.status.numberMisscheduled], [0, 1]);
});

test('a NoSchedule taint: a daemon pod only where tolerated (Equal with the value, or Exists); a taint added later keeps the running pod', () => {
  const gpu: Taint = { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' };
  const nodes = [node('a'), node('g', {}, { taints: [gpu] })];
  assert.deepEqual(placed(ds({}), nodes), ['a'], 'untolerated: not on g');
  assert.deepEqual(placed(ds({ tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] }), nodes), ['a', 'g']);
  assert.deepEqual(placed(ds({ tolerations: [{ key: 'dedicated', operator: 'Exists' }] }), nodes), ['a', 'g']);
  assert.deepEqual(placed(ds({ tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'cpu', effect: 'NoSchedule' }] }), nodes), ['a'], 'another value does not tolerate it');
  assert.deepEqual(placed(ds({ tolerations: [{ key: 'dedicated', operator: 'Exists', effect: 'NoExecute' }] }), nodes), ['a'], 'another effect does not tolerate it');

  // g was tainted after its pod ran: NoSchedule does not evict (as Kubernetes), so it stays, counted misscheduled
  const later = planDaemonSet(ds({}), nodes, [pod('a'), pod('g')], 'h1', NOW);
  assert.deepEqual(later.delete, []);
  assert.deepEqual([later.status.desiredNumberScheduled, later.status.numberMisscheduled], [1, 1]);
  // NoExecute is eviction: the pod goes
  const evict = planDaemonSet(ds({}), [node('a'), node('g', {}, { taints: [{ ...gpu, effect: 'NoExecute' }] })], [pod('a'), pod('g')], 'h1', NOW);
  assert.deepEqual(evict.delete.map((p) => p.metadata.name), ['mapper-g']);
});

test('a cordoned node still gets its daemon pod: the pod carries the unschedulable toleration and the scheduler lets it through', () => {
  const cordoned = node('c', {}, { unschedulable: true, taints: [{ key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' }] });
  const d = ds({});
  assert.deepEqual(nodeFit((d.spec as { template: { spec: Record<string, unknown> } }).template.spec, cordoned), { shouldRun: true, place: true, keep: true });
  assert.deepEqual(placed(d, [node('a'), cordoned]), ['a', 'c']);
  const base: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'mapper-', namespace: 'default' }, spec: (d.spec as { template: { spec: Record<string, unknown> } }).template.spec };
  const daemon = daemonPod(d, 'c', 'h1', base);
  const tolerations = (daemon.spec as { tolerations: { key?: string; operator?: string; effect?: string }[] }).tolerations;
  assert.ok(tolerations.some((x) => x.key === TAINT_UNSCHEDULABLE && x.operator === 'Exists' && x.effect === 'NoSchedule'));
  assert.deepEqual(filterReasons(daemon.spec as Record<string, unknown>, cordoned), [], 'the scheduler binds it to the cordoned node');
  assert.deepEqual(filterReasons(base.spec as Record<string, unknown>, cordoned), ['node(s) were unschedulable'], 'an ordinary pod is kept off');
  // the daemon pod's own affinity names its node: it cannot land elsewhere
  assert.deepEqual(filterReasons(daemon.spec as Record<string, unknown>, node('a')), ["node(s) didn't match Pod's node affinity/selector"]);
});

test('a cordoned node is still counted while its pod runs, and a daemon pod is not taken off it', () => {
  const cordoned = node('c', {}, { unschedulable: true, taints: [{ key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' }] });
  const plan = planDaemonSet(ds({}), [node('a'), cordoned], [pod('a'), pod('c')], 'h1', NOW);
  assert.deepEqual([plan.create, plan.delete], [[], []]);
  assert.deepEqual([plan.status.desiredNumberScheduled, plan.status.currentNumberScheduled, plan.status.numberReady], [2, 2, 2]);
});
