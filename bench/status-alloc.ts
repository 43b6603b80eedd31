/**
 * In-process: what one node status sample and one /metrics scrape allocate on V8's heap, and
 * whether they leave anything behind. The sample is nodestatus's real `tick()` (the kernel's
 * files, statfs, the change check, the host and usage reports into a real store); the scrape is
 * a real request to the ops endpoint over loopback, less a /healthz request (the HTTP round trip,
 * its client side included), so what is left is the render: the snapshot and prom-client's
 * registry. Allocation is read as V8's used heap before and after N runs with no collection
 * between (the young generation is made large enough: the GCs seen are counted and must be 0;
 * without --optimize-for-size, which keeps it small, and without the scavenge task and the memory
 * reducer, which collect on their own). KEEPALIVE=1: the requests reuse one connection.
 *   node --import tsx --expose-gc --no-opt --single-threaded-gc --min-semi-space-size=16 \
 *     --max-semi-space-size=16 --no-minor-gc-task --no-memory-reducer bench/status-alloc.ts [n=20]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { parseConfig } from '../src/config/load.js';
import { Bus } from '../src/core/bus.js';
import { nullLogger } from '../src/core/logger.js';
import { NodeStatus } from '../src/modules/nodestatus/module.js';
import type { NodeMessage, NodeReplies } from '../src/node/messages.js';
import { startOps } from '../src/node/ops.js';
import { nodeServices } from '../src/node/services.js';
import { openNodeStore } from '../src/store/store.js';

const N = Number(process.argv[2] ?? 20);
/** KEEPALIVE=1: the scrapes reuse one connection, as Prometheus does */
const agent = process.env.KEEPALIVE === '1' ? new Agent({ keepAlive: true, maxSockets: 1 }) : false;
const maybeGc = (globalThis as { gc?: () => void }).gc;
if (!maybeGc) throw new Error('run with --expose-gc');
const gc = maybeGc;
let gcs = 0;
new PerformanceObserver((l) => { for (const e of l.getEntries()) { gcs++; if (process.env.TRACE) console.error("gc", (e as any).detail?.kind, Math.round(e.startTime)); } }).observe({ entryTypes: ['gc'] });
const used = (): number => getHeapStatistics().used_heap_size;

const dir = mkdtempSync(join(tmpdir(), 'status-alloc-'));
const config = parseConfig({ node: { name: 'n1' }, dataDir: dir, modules: { edged: { enabled: false } } });
const store = openNodeStore(join(dir, 'edgecore.db'));
const services = nodeServices(config, store, 'bench');
services.metrics.gauge('module_up', () => [{ labels: { module: 'nodestatus' }, value: 1 }]);
services.metrics.gaugeGroup(['outbox_rows', 'outbox_dropped_total', 'app_outbox_rows', 'app_outbox_bytes', 'app_outbox_dropped_total'], () => {
  const b = services.uplink.backlog();
  return { outbox_rows: b.rows, outbox_dropped_total: b.dropped, app_outbox_rows: b.app.rows, app_outbox_bytes: b.app.bytes, app_outbox_dropped_total: b.app.dropped };
});
const bus = new Bus<NodeMessage, NodeReplies>();
const mod = new NodeStatus();
await mod.start({ bus: bus.attach('nodestatus', 'status', () => undefined), services, log: nullLogger(), signal: new AbortController().signal, fail: () => undefined });
const ops = await startOps({ host: '127.0.0.1', port: 0, metrics: services.metrics, healthy: async () => true });
const get = (path: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: ops.port, path, agent }, (res) => {
      let n = 0;
      res.on('data', (c: Buffer) => (n += c.length));
      res.on('end', () => resolve(n));
    });
    req.on('error', reject);
    req.end();
  });

/** bytes allocated per run of `f` (no collection in between), after warming it up */
async function perRun(f: () => Promise<unknown>): Promise<{ bytes: number; gcs: number }> {
  for (let i = 0; i < 30; i++) await f();
  gc();
  await new Promise((r) => setTimeout(r, 50));
  const g0 = gcs;
  const u0 = used();
  for (let i = 0; i < N; i++) await f();
  const u1 = used();
  await new Promise((r) => setTimeout(r, 50)); // the observer's entries arrive late
  return { bytes: Math.round((u1 - u0) / N), gcs: gcs - g0 };
}

const tick = await perRun(() => mod.tick());
const healthz = await perRun(() => get('/healthz'));
const metrics = await perRun(() => get('/metrics'));
gc();
const live = used();
process.stdout.write(
  `${JSON.stringify({ runs: N, sampleBytes: tick.bytes, healthzBytes: healthz.bytes, metricsBytes: metrics.bytes, renderBytes: metrics.bytes - healthz.bytes, gcsDuringRuns: tick.gcs + healthz.gcs + metrics.gcs, liveAfterKiB: Math.round(live / 1024) })}\n`,
);
await mod.stop();
await ops.close();
store.close();
rmSync(dir, { recursive: true, force: true });
