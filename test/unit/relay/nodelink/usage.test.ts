/** kubectl top's data at the relay: what a node reports about itself and its own pods only, served as metrics.k8s.io. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject, Status } from '../../../../src/contract/kube/types.js';
import { NODE_METRICS_KIND, type NodeMetricsReport } from '../../../../src/contract/metrics.js';
import { ADMIN, nodeIdentity, READ_ONLY } from '../../../../src/relay/apiserver/authz.js';
import { MetricsApi } from '../../../../src/relay/apiserver/http/metrics-api.js';
import { linkFixture, pod, POD, state } from './fixture.js';

const report = (sampledAt: number, pods: { uid: string; name: string }[], cpu = 250_000_000): NodeMetricsReport => ({
  windowSeconds: 10,
  sampledAt,
  node: { cpuNanoCores: cpu, memoryWorkingSetBytes: 512 * 1024 * 1024 },
  pods: pods.map((p) => ({ namespace: 'default', name: p.name, uid: p.uid, containers: [{ name: 'c', cpuNanoCores: 1_000_000, memoryWorkingSetBytes: 2 * 1024 * 1024 }] })),
});

const q = (s = ''): URLSearchParams => new URLSearchParams(s);
const code = async (p: Promise<unknown>): Promise<number> => p.then(() => 0, (e: { status?: Status }) => e.status?.code ?? -1);

test("a node's usage report: shown for the node and for the pods the API places on it with that uid, never for another node's pods", async (t) => {
  const f = await linkFixture(t);
  await f.join('n1');
  await f.join('n2');
  const mine = await f.admin.create(POD, pod('mine', 'n1'));
  const theirs = await f.admin.create(POD, pod('theirs', 'n2'));
  const api = new MetricsApi(f.core, f.link.usage, () => f.clock.now);
  const ctx = { identity: ADMIN, warnings: [] };
  const items = async (resource: string, ns?: string) => ((await api.serve(ctx, { verb: 'list', resource, namespace: ns, name: undefined, query: q() })) as { items: KubeObject[] }).items;

  assert.deepEqual(await items('nodes'), [], 'no report yet');
  // n1 speaks for its pod and (falsely) for n2's, and a stale uid for its own
  await f.send('n1', 'reported/state', state(NODE_METRICS_KIND, '', 'n1', report(Date.UTC(2026, 0, 1, 0, 0, 5), [{ uid: mine.metadata.uid!, name: 'mine' }, { uid: theirs.metadata.uid!, name: 'theirs' }])));
  const nodes = await items('nodes');
  assert.deepEqual(nodes.map((n) => n.metadata.name), ['n1']);
  assert.deepEqual((nodes[0] as unknown as { usage: unknown; window: string; timestamp: string }).usage, { cpu: '250000000n', memory: '524288Ki' });
  assert.equal((nodes[0] as unknown as { timestamp: string }).timestamp, '2026-01-01T00:00:05Z');
  assert.equal((nodes[0] as unknown as { window: string }).window, '10s');
  const pods = await items('pods', 'default');
  assert.deepEqual(pods.map((p) => p.metadata.name), ['mine'], "n2's pod is not shown with n1's figures");
  assert.deepEqual((pods[0] as unknown as { containers: unknown }).containers, [{ name: 'c', usage: { cpu: '1000000n', memory: '2048Ki' } }]);
  assert.equal(await code(api.serve(ctx, { verb: 'get', resource: 'pods', namespace: 'default', name: 'theirs', query: q() })), 404);
  assert.equal(await code(api.serve(ctx, { verb: 'get', resource: 'nodes', namespace: undefined, name: 'n2', query: q() })), 404);

  // a report about another node, a malformed one: refused, nothing changes; an older one is ignored
  const rejected = f.link.ingress.counters.rejected;
  await f.send('n1', 'reported/state', state(NODE_METRICS_KIND, '', 'n2', report(Date.UTC(2026, 0, 1, 0, 1), [{ uid: theirs.metadata.uid!, name: 'theirs' }])));
  await f.send('n1', 'reported/state', state(NODE_METRICS_KIND, '', 'n1', { ...report(Date.UTC(2026, 0, 1, 0, 1), []), node: { cpuNanoCores: -1 } }));
  assert.equal(f.link.ingress.counters.rejected, rejected + 2);
  assert.equal(f.link.usage.latest('n2'), undefined);
  await f.send('n1', 'reported/state', state(NODE_METRICS_KIND, '', 'n1', report(Date.UTC(2026, 0, 1), [], 1)));
  assert.equal(f.link.usage.latest('n1')?.node.cpuNanoCores, 250_000_000, 'an older report does not replace a newer one');

  // who may read: the read-only token and nodes (get/list); no watch; unknown resources are 404
  assert.equal((await api.serve({ identity: READ_ONLY, warnings: [] }, { verb: 'list', resource: 'pods', namespace: 'default', name: undefined, query: q() }) as { items: unknown[] }).items.length, 1);
  assert.equal(await code(api.serve({ identity: nodeIdentity('n2'), warnings: [] }, { verb: 'list', resource: 'nodes', namespace: undefined, name: undefined, query: q() })), 0);
  assert.equal(await code(api.serve(ctx, { verb: 'watch', resource: 'pods', namespace: 'default', name: undefined, query: q() })), 405);
  assert.equal(await code(api.serve(ctx, { verb: 'list', resource: 'services', namespace: 'default', name: undefined, query: q() })), 404);
  // the label selector is the pods' (kubectl top pod -l)
  assert.deepEqual(((await api.serve(ctx, { verb: 'list', resource: 'pods', namespace: 'default', name: undefined, query: q('labelSelector=app%3Dnone') })) as { items: unknown[] }).items, []);
});
