/** Ready from presence and heartbeats (relay clock), lifecycle taints, the node's own conditions, no eviction. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../../../../src/contract/kube/types.js';
import { nodeConditions } from '../../../../src/relay/controllers/node-lifecycle.js';
import { linkFixture, NODE, pod, POD, state } from './fixture.js';

interface Cond {
  type: string;
  status: string;
  reason?: string;
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
}
const conds = (n: KubeObject): Cond[] => ((n.status as { conditions?: Cond[] } | undefined)?.conditions ?? []);
const ready = (n: KubeObject): Cond | undefined => conds(n).find((c) => c.type === 'Ready');
const taints = (n: KubeObject): string[] => ((n.spec as { taints?: { key: string; effect: string }[] }).taints ?? []).map((t) => `${t.key}:${t.effect}`);

test('Ready: never heard → Unknown; heard → True; Will → Unknown with the unreachable taints; the pod stays', async (t) => {
  const f = await linkFixture(t, { notReadyAfterSeconds: 90, offlineGraceSeconds: 0, heartbeatWriteSeconds: 60 });
  await f.join('n1');
  await f.admin.create(POD, pod('web', 'n1'));
  let n = await f.admin.get(NODE, undefined, 'n1');
  assert.deepEqual([ready(n)?.status, ready(n)?.reason], ['Unknown', 'NodeStatusNeverUpdated']);
  assert.deepEqual(taints(n), ['node.kubernetes.io/unreachable:NoSchedule', 'node.kubernetes.io/unreachable:NoExecute']);
  // born with that status and those taints: one write, not a create and two patches
  const writes: string[] = [];
  const w = await f.store.watch({ group: '', resource: 'nodes' }, 0, (e) => writes.push(`${e.type} ${e.key.name}`));
  w.stop();
  assert.deepEqual(writes, ['ADDED n1']);

  await f.send('n1', 'presence', { online: true, bootId: 'b', agentVersion: '1', timestamp: 1 });
  n = await f.admin.get(NODE, undefined, 'n1');
  assert.deepEqual([ready(n)?.status, ready(n)?.reason], ['True', 'KubeletReady']);
  assert.equal(ready(n)?.lastHeartbeatTime, '2026-01-01T00:00:00Z', "the relay's clock, not the node's");
  assert.deepEqual(taints(n), []);

  // heartbeats within heartbeatWriteSeconds write nothing
  const rv = n.metadata.resourceVersion;
  f.clock.now = new Date('2026-01-01T00:00:30Z');
  await f.send('n1', 'heartbeat', { v: 1, q: 0, t: Date.UTC(2099, 0, 1) });
  assert.equal((await f.admin.get(NODE, undefined, 'n1')).metadata.resourceVersion, rv);
  f.clock.now = new Date('2026-01-01T00:01:05Z');
  await f.send('n1', 'heartbeat', { v: 1, q: 0, t: 1 });
  n = await f.admin.get(NODE, undefined, 'n1');
  assert.equal(ready(n)?.lastHeartbeatTime, '2026-01-01T00:01:05Z', 'refreshed once due');
  assert.equal(ready(n)?.lastTransitionTime, '2026-01-01T00:00:00Z');

  await f.send('n1', 'presence', { online: false, bootId: 'b', agentVersion: '1', timestamp: 1 });
  n = await f.admin.get(NODE, undefined, 'n1');
  assert.deepEqual([ready(n)?.status, ready(n)?.reason], ['Unknown', 'NodeStatusUnknown']);
  assert.deepEqual(taints(n), ['node.kubernetes.io/unreachable:NoSchedule', 'node.kubernetes.io/unreachable:NoExecute']);
  const p = await f.admin.get(POD, 'default', 'web');
  assert.equal(p.metadata.deletionTimestamp, undefined, 'an unreachable node keeps its pods: nothing is evicted');
});

test('cordon adds the unschedulable taint next to a user taint; the node\'s own conditions sit beside Ready and go Unknown with it', async (t) => {
  const f = await linkFixture(t, { offlineGraceSeconds: 0 });
  await f.join('n1');
  await f.send('n1', 'presence', { online: true, bootId: 'b', agentVersion: '1', timestamp: 1 });
  await f.admin.patch(NODE, undefined, 'n1', 'merge', { spec: { unschedulable: true, taints: [{ key: 'dedicated', value: 'cam', effect: 'NoSchedule' }] } });
  await f.link.idle();
  let n = await f.admin.get(NODE, undefined, 'n1');
  assert.deepEqual(taints(n), ['dedicated:NoSchedule', 'node.kubernetes.io/unschedulable:NoSchedule']);

  const report = { appliedVersion: 1, epoch: 'e', agentVersion: '1', bootId: 'b', arch: 'x64', platform: 'linux', outbox: { rows: 0, dropped: 0 }, conditions: [{ type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', lastTransitionTime: '2026-01-01T00:00:00Z' }] };
  await f.send('n1', 'reported/state', state('Node', '', 'n1', report));
  n = await f.admin.get(NODE, undefined, 'n1');
  assert.deepEqual(conds(n).map((c) => `${c.type}=${c.status}`), ['MemoryPressure=False', 'Ready=True']);
  await f.send('n1', 'presence', { online: false, bootId: 'b', agentVersion: '1', timestamp: 1 });
  n = await f.admin.get(NODE, undefined, 'n1');
  assert.deepEqual(conds(n).map((c) => `${c.type}=${c.status}`), ['MemoryPressure=Unknown', 'Ready=Unknown']);
});

test('a dropped connection keeps Ready for offlineGraceSeconds: a node back within it costs no write; one that is not turns Unknown', async (t) => {
  const f = await linkFixture(t, { notReadyAfterSeconds: 90, offlineGraceSeconds: 40 });
  await f.join('n1');
  await f.send('n1', 'presence', { online: true, bootId: 'b', agentVersion: '1', timestamp: 1 });
  const rv = (await f.admin.get(NODE, undefined, 'n1')).metadata.resourceVersion;
  // a reconnect storm: the Will, then the node is back 30 s later
  await f.send('n1', 'presence', { online: false, bootId: 'b', agentVersion: '1', timestamp: 1 });
  f.clock.now = new Date('2026-01-01T00:00:30Z');
  f.link.lifecycle.touch('n1');
  await f.link.idle();
  assert.equal((await f.admin.get(NODE, undefined, 'n1')).metadata.resourceVersion, rv, 'within the grace: nothing written');
  await f.send('n1', 'presence', { online: true, bootId: 'b', agentVersion: '1', timestamp: 1 });
  let n = await f.admin.get(NODE, undefined, 'n1');
  assert.equal(n.metadata.resourceVersion, rv, 'back within the grace: nothing written either');
  assert.deepEqual([ready(n)?.status, taints(n)], ['True', []]);
  // gone for good: Unknown once the grace is over (the controller looks again then)
  await f.send('n1', 'presence', { online: false, bootId: 'b', agentVersion: '1', timestamp: 1 });
  f.clock.now = new Date('2026-01-01T00:01:10Z');
  f.link.lifecycle.touch('n1');
  await f.link.idle();
  assert.equal(ready(await f.admin.get(NODE, undefined, 'n1'))?.status, 'True', '40 s after the Will at 00:00:30 is 00:01:10: not over yet');
  f.clock.now = new Date('2026-01-01T00:01:11Z');
  f.link.lifecycle.touch('n1');
  await f.link.idle();
  n = await f.admin.get(NODE, undefined, 'n1');
  assert.deepEqual([ready(n)?.status, ready(n)?.reason, ready(n)?.lastTransitionTime], ['Unknown', 'NodeStatusUnknown', '2026-01-01T00:01:11Z']);
  assert.deepEqual(taints(n), ['node.kubernetes.io/unreachable:NoSchedule', 'node.kubernetes.io/unreachable:NoExecute']);
});

test('a restarted relay gives every node its grace from the start: one back within it costs no write, one that is not turns Unknown after it', async (t) => {
  const f = await linkFixture(t, { notReadyAfterSeconds: 90, offlineGraceSeconds: 40, heartbeatWriteSeconds: 300 });
  for (const n of ['back', 'gone']) {
    await f.join(n);
    await f.send(n, 'presence', { online: true, bootId: 'b', agentVersion: '1', timestamp: 1 });
  }
  await f.join('never');
  // the relay restarts 200 s later: the stored lastHeartbeatTime (00:00:00) is older than notReadyAfterSeconds
  f.clock.now = new Date('2026-01-01T00:03:20Z');
  await f.restart();
  const rv = async (n: string): Promise<string | undefined> => (await f.admin.get(NODE, undefined, n)).metadata.resourceVersion;
  const before = { back: await rv('back'), gone: await rv('gone'), never: await rv('never') };
  f.clock.now = new Date('2026-01-01T00:03:50Z');
  await f.send('back', 'presence', { online: true, bootId: 'b', agentVersion: '1', timestamp: 1 });
  for (const n of ['back', 'gone', 'never']) f.link.lifecycle.touch(n);
  await f.link.idle();
  assert.deepEqual({ back: await rv('back'), gone: await rv('gone'), never: await rv('never') }, before, 'within the grace from the start: no Node written');
  assert.equal(ready(await f.admin.get(NODE, undefined, 'gone'))?.status, 'True');
  assert.equal(ready(await f.admin.get(NODE, undefined, 'never'))?.reason, 'NodeStatusNeverUpdated');
  // 40 s after the start: the node not heard turns Unknown, the one back stays Ready
  f.clock.now = new Date('2026-01-01T00:04:01Z');
  for (const n of ['back', 'gone', 'never']) f.link.lifecycle.touch(n);
  await f.link.idle();
  const gone = await f.admin.get(NODE, undefined, 'gone');
  assert.deepEqual([ready(gone)?.status, ready(gone)?.reason, ready(gone)?.lastTransitionTime], ['Unknown', 'NodeStatusUnknown', '2026-01-01T00:04:01Z']);
  assert.deepEqual(taints(gone), ['node.kubernetes.io/unreachable:NoSchedule', 'node.kubernetes.io/unreachable:NoExecute']);
  assert.equal(ready(await f.admin.get(NODE, undefined, 'back'))?.status, 'True');
  assert.equal(await rv('never'), before.never);
});

test('Node writes go at the controller\'s pace: when nodes drop together, one back before its turn is not written at all', async (t) => {
  const f = await linkFixture(t, { offlineGraceSeconds: 0, statusWritesPerSecond: 1 });
  const names = ['a', 'b', 'c'];
  for (const n of names) {
    await f.join(n);
    await f.send(n, 'presence', { online: true, bootId: 'b', agentVersion: '1', timestamp: 1 });
  }
  await new Promise((r) => setTimeout(r, 1100)); // the joins spent the bucket: a full one again
  const rv = (await f.admin.get(NODE, undefined, 'c')).metadata.resourceVersion;
  const presence = (n: string, online: boolean) => f.link.handle(n, 'presence', Buffer.from(JSON.stringify({ online, bootId: 'b', agentVersion: '1', timestamp: 1 })));
  // all three drop at once; c is back before the controller's pace gets to it
  for (const n of names) await presence(n, false);
  await new Promise((r) => setTimeout(r, 300)); // unpaced, all three would be written by now
  await presence('c', true);
  await f.link.idle();
  assert.deepEqual(
    await Promise.all(names.map(async (n) => ready(await f.admin.get(NODE, undefined, n))?.status)),
    ['Unknown', 'Unknown', 'True'],
  );
  assert.equal((await f.admin.get(NODE, undefined, 'c')).metadata.resourceVersion, rv, 'c: never written');
});

test('while connections wait their turn on the broker, Node writes give way: one a second, the rest as soon as the line is gone', async (t) => {
  let backlog = false;
  const f = await linkFixture(t, { offlineGraceSeconds: 0, statusWritesPerSecond: 100 }, { busy: () => backlog });
  const names = ['a', 'b', 'c'];
  for (const n of names) await f.join(n);
  backlog = true;
  for (const n of names) await f.link.handle(n, 'presence', Buffer.from(JSON.stringify({ online: true, bootId: 'b', agentVersion: '1', timestamp: 1 })));
  await new Promise((r) => setTimeout(r, 400)); // with no line, all three would be written by now
  const statuses = async () => Promise.all(names.map(async (n) => ready(await f.admin.get(NODE, undefined, n))?.status));
  assert.deepEqual((await statuses()).filter((s) => s === 'True').length, 1, 'one write while the line is there');
  backlog = false;
  await f.link.idle();
  assert.deepEqual(await statuses(), ['True', 'True', 'True']);
});

test('a node coming up takes one turn of the pace: its taints go onto the version its status write made, not the stale one (a conflict and a second turn)', async (t) => {
  const f = await linkFixture(t, { offlineGraceSeconds: 0, statusWritesPerSecond: 1 });
  await f.join('n1');
  await new Promise((r) => setTimeout(r, 1100)); // a full bucket: one turn at once, the next a second later
  const rv = Number((await f.admin.get(NODE, undefined, 'n1')).metadata.resourceVersion);
  const t0 = performance.now();
  await f.send('n1', 'presence', { online: true, bootId: 'b', agentVersion: '1', timestamp: 1 });
  const took = performance.now() - t0;
  const n = await f.admin.get(NODE, undefined, 'n1');
  assert.deepEqual([ready(n)?.status, taints(n)], ['True', []]);
  const writes: string[] = [];
  const w = await f.store.watch({ group: '', resource: 'nodes' }, rv, (e) => writes.push(`${e.type} ${e.key.name}`));
  w.stop();
  assert.deepEqual(writes, ['MODIFIED n1', 'MODIFIED n1'], 'the status, then the taints');
  assert.ok(took < 800, `Ready and untainted within one turn of the pace (took ${Math.round(took)} ms; a second turn waits 1 s)`);
});

test('a Node registered by an API client (no relay credentials) keeps the status that client writes', async (t) => {
  const f = await linkFixture(t, { notReadyAfterSeconds: 90 });
  await f.admin.create(NODE, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'virtual-1' }, spec: {} });
  await f.admin.patch(NODE, undefined, 'virtual-1', 'merge', { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'Posted', lastHeartbeatTime: '2026-01-01T00:00:00Z', lastTransitionTime: '2026-01-01T00:00:00Z' }] } }, { subresource: 'status' });
  await f.link.idle();
  const n = await f.admin.get(NODE, undefined, 'virtual-1');
  assert.deepEqual([ready(n)?.status, ready(n)?.reason], ['True', 'Posted']);
  assert.deepEqual(taints(n), [], 'no lifecycle taints either');
  await f.join('n1');
  assert.equal(ready(await f.admin.get(NODE, undefined, 'n1'))?.reason, 'NodeStatusNeverUpdated', 'a joined node is the controller\'s');
});

test('nodeConditions keeps the stored ones when the node said nothing (a relay restart)', () => {
  const readyC = { type: 'Ready', status: 'True' as const, lastHeartbeatTime: 'h', lastTransitionTime: 't', reason: 'KubeletReady', message: 'm' };
  const prev = [{ type: 'DiskPressure', status: 'False' as const, lastHeartbeatTime: 'old', lastTransitionTime: 'x' }, { ...readyC, status: 'Unknown' as const }];
  assert.deepEqual(nodeConditions(prev, readyC, undefined).map((c) => c.type), ['DiskPressure', 'Ready']);
});
