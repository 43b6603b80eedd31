import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ObservedContainer } from '../../../src/modules/edged/model.js';
import { ContainerUsage, nanoCores, readingOf } from '../../../src/modules/edged/usage.js';

const c = (id: string, podUid: string, container: string, over: Partial<ObservedContainer> = {}): ObservedContainer =>
  ({ id, dockerName: id, podUid, namespace: 'default', podName: `pod-${podUid}`, role: 'app', container, attempt: 0, restarts: 0, hash: '', graceSeconds: 30, image: 'i', imageId: 'i', state: 'running', exitCode: 0, oomKilled: false, error: '', ...over }) as ObservedContainer;

const stats = (cpuNs: number, at: string, usage: number, inactive: Record<string, number>) => ({ read: at, cpu_stats: { cpu_usage: { total_usage: cpuNs } }, memory_stats: { usage, stats: inactive } });

test('a reading: cumulative CPU, the time read, working set = usage less inactive file pages (cgroup v1 and v2 names)', () => {
  assert.deepEqual(readingOf(stats(5, '2026-01-01T00:00:01Z', 1000, { total_inactive_file: 300, inactive_file: 100 })), { cpuNs: 5, atMs: Date.parse('2026-01-01T00:00:01Z'), workingSetBytes: 700 });
  assert.equal(readingOf(stats(5, '2026-01-01T00:00:01Z', 1000, { inactive_file: 100 }))?.workingSetBytes, 900);
  assert.equal(readingOf(stats(5, '2026-01-01T00:00:01Z', 100, { inactive_file: 400 }))?.workingSetBytes, 0, 'never below zero');
  assert.equal(readingOf({ read: 'x' }), undefined);
  assert.equal(readingOf(undefined), undefined);
});

test('nanocores between two readings; none for a zero or backward interval or a counter that went back (a new container)', () => {
  const a = { cpuNs: 1e9, atMs: 0, workingSetBytes: 0 };
  assert.equal(nanoCores(a, { cpuNs: 1.5e9, atMs: 2000, workingSetBytes: 0 }), 250_000_000);
  assert.equal(nanoCores(a, { cpuNs: 2e9, atMs: 0, workingSetBytes: 0 }), undefined);
  assert.equal(nanoCores(a, { cpuNs: 1, atMs: 1000, workingSetBytes: 0 }), undefined);
});

test('pods come with all their running app containers once each has a previous reading; sandboxes, init and stopped containers are left out', async () => {
  const u = new ContainerUsage();
  const list = [c('a1', 'p1', 'web'), c('a2', 'p1', 'side'), c('s1', 'p1', 'pause', { role: 'sandbox' }), c('i1', 'p1', 'init', { role: 'init' }), c('b1', 'p2', 'main', { state: 'exited' })];
  let t = 0;
  const asked: string[] = [];
  const read = async ({ id }: { id: string }) => {
    asked.push(id);
    return readingOf(stats(t * 1e9 * (id === 'a1' ? 0.5 : 0.1), new Date(t * 1000).toISOString(), 2048, {}));
  };
  assert.deepEqual(await u.sample(list, read), [], 'first readings: no rate yet');
  assert.deepEqual(asked.sort(), ['a1', 'a2']);
  t = 2;
  const pods = await u.sample(list, read);
  assert.deepEqual(pods, [{ namespace: 'default', name: 'pod-p1', uid: 'p1', containers: [{ name: 'side', cpuNanoCores: 100_000_000, memoryWorkingSetBytes: 2048 }, { name: 'web', cpuNanoCores: 500_000_000, memoryWorkingSetBytes: 2048 }] }]);
  // a container whose stats cannot be read makes its pod wait (no partial pods)
  t = 4;
  assert.deepEqual(await u.sample(list, async (x) => (x.id === 'a2' ? Promise.reject(new Error('gone')) : read(x))), []);
});
