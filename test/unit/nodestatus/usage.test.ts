import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NodeUsage } from '../../../src/contract/node-status.js';
import { metricsMoved, metricsReport, nodeUsage } from '../../../src/modules/nodestatus/usage.js';

const usage = (cpuCores: number, availableBytes: number): NodeUsage => ({ cpuCores, memory: { totalBytes: 8e9, availableBytes }, disks: [], load: [0, 0, 0], processes: { count: 1, max: 10 }, bootTime: '2026-01-01T00:00:00.000Z' });
const pod = (uid: string, cpu: number, mem = 1e6) => ({ namespace: 'default', name: `p-${uid}`, uid, containers: [{ name: 'c', cpuNanoCores: cpu, memoryWorkingSetBytes: mem }] });
const D = { cpuNanoCores: 5e6, memoryBytes: 1 << 20 };

test('the node usage: busy cores as nanocores, memory in use = total less available', () => {
  assert.deepEqual(nodeUsage(usage(0.25, 6e9)), { cpuNanoCores: 250_000_000, memoryWorkingSetBytes: 2e9 });
  const r = metricsReport(usage(1, 7e9), [pod('a', 1)], 10, new Date(5000));
  assert.equal(r.sampledAt, 5000);
  assert.equal(r.windowSeconds, 10);
});

test('a report goes up first, then only when pods change or a figure moves by its deadband', () => {
  const at = new Date(0);
  const a = metricsReport(usage(1, 7e9), [pod('a', 10e6)], 10, at);
  assert.equal(metricsMoved(undefined, a, D), true);
  assert.equal(metricsMoved(a, metricsReport(usage(1.004, 7e9 - 1000), [pod('a', 14e6, 1e6 + 1000)], 10, at), D), false, 'within the deadbands');
  assert.equal(metricsMoved(a, metricsReport(usage(1.005, 7e9), [pod('a', 10e6)], 10, at), D), true, 'node CPU moved 5m');
  assert.equal(metricsMoved(a, metricsReport(usage(1, 7e9), [pod('a', 15e6)], 10, at), D), true, 'a container CPU moved 5m');
  assert.equal(metricsMoved(a, metricsReport(usage(1, 7e9), [pod('a', 10e6, 1e6 + (1 << 20))], 10, at), D), true, 'memory moved 1 MiB');
  assert.equal(metricsMoved(a, metricsReport(usage(1, 7e9), [pod('b', 10e6)], 10, at), D), true, 'another pod');
  assert.equal(metricsMoved(a, metricsReport(usage(1, 7e9), [], 10, at), D), true, 'the pod went');
});
