import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NodeMetrics } from '../../../src/node/metrics.js';

test('a scrape snapshot reads each gauge and each gauge group once; a failing read leaves only its metrics empty', () => {
  const m = new NodeMetrics(true);
  let groupReads = 0;
  m.count('driver_reads_total', { namespace: 'default', device: 'd1' });
  m.count('driver_reads_total', { namespace: 'default', device: 'd1' }, 2);
  m.count('driver_reads_total', { namespace: 'default', device: 'd2' });
  m.gauge('metaserver_watchers', () => 3);
  m.gauge('module_up', () => [{ labels: { module: 'edged' }, value: 1 }]);
  m.gaugeGroup(['outbox_rows', 'outbox_dropped_total'], () => {
    groupReads++;
    return { outbox_rows: 7, outbox_dropped_total: 2 };
  });
  m.gaugeGroup(['app_outbox_rows', 'app_outbox_bytes'], () => {
    throw new Error('store closed');
  });
  m.gauge('module_restarts_total', () => {
    throw new Error('gone');
  });
  const s = m.snapshot();
  assert.equal(groupReads, 1, 'one read for the group\'s two metrics');
  assert.deepEqual(s.get('driver_reads_total'), [{ labels: { namespace: 'default', device: 'd1' }, value: 3 }, { labels: { namespace: 'default', device: 'd2' }, value: 1 }]);
  assert.deepEqual(s.get('metaserver_watchers'), [{ labels: {}, value: 3 }]);
  assert.deepEqual(s.get('module_up'), [{ labels: { module: 'edged' }, value: 1 }]);
  assert.deepEqual([s.get('outbox_rows'), s.get('outbox_dropped_total')], [[{ labels: {}, value: 7 }], [{ labels: {}, value: 2 }]]);
  assert.deepEqual([s.get('app_outbox_rows'), s.get('app_outbox_bytes'), s.get('module_restarts_total')], [[], [], []]);
  m.snapshot();
  assert.equal(groupReads, 2, 'read again at the next scrape');
});

test('disabled (the metrics endpoint off): counting and gauges are no-ops', () => {
  const m = new NodeMetrics(false);
  let reads = 0;
  m.count('node_status_samples_total', {});
  m.gauge('outbox_rows', () => ++reads);
  m.gaugeGroup(['app_outbox_rows'], () => ({ app_outbox_rows: ++reads }));
  assert.equal(m.snapshot().size, 0);
  assert.equal(reads, 0);
});

test("/metrics writes a metric again only when its series changed: each scrape is what a first scrape of the same values writes", async (t) => {
  const { startOps } = await import('../../../src/node/ops.js');
  const m = new NodeMetrics(true);
  let watchers = 1;
  let modules = [{ labels: { module: 'edged' }, value: 1 }];
  m.gauge('metaserver_watchers', () => watchers);
  m.gauge('module_up', () => modules);
  m.count('driver_reads_total', { namespace: 'default', device: 'd1' });
  const ops = await startOps({ host: '127.0.0.1', port: 0, metrics: m, healthy: async () => true });
  t.after(() => ops.close());
  const scrape = async (port: number): Promise<string> => (await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).replace(/^process_.*\n/gm, '');
  const fresh = async (): Promise<string> => {
    const o = await startOps({ host: '127.0.0.1', port: 0, metrics: m, healthy: async () => true });
    try {
      return await scrape(o.port);
    } finally {
      await o.close();
    }
  };
  const first = await scrape(ops.port);
  assert.equal(first, await fresh());
  assert.match(first, /^edgecore_driver_reads_total\{namespace="default",device="d1"\} 1$/m);
  assert.equal(await scrape(ops.port), first, 'nothing changed');
  // a counter bumped, a new series, a gauge's value and a gauge's label set changed
  m.count('driver_reads_total', { namespace: 'default', device: 'd1' });
  m.count('driver_reads_total', { namespace: 'default', device: 'd"2' });
  m.count('node_status_samples_total', {});
  watchers = 5;
  modules = [{ labels: { module: 'devicetwin' }, value: 1 }];
  const second = await scrape(ops.port);
  assert.equal(second, await fresh());
  assert.match(second, /^edgecore_driver_reads_total\{namespace="default",device="d1"\} 2$/m);
  assert.match(second, /^edgecore_driver_reads_total\{namespace="default",device="d\\"2"\} 1$/m);
  assert.match(second, /^edgecore_metaserver_watchers 5$/m);
  assert.match(second, /^edgecore_module_up\{module="devicetwin"\} 1$/m);
  assert.match(second, /^edgecore_node_status_samples_total 1$/m);
  assert.doesNotMatch(second, /module="edged"/);
});
