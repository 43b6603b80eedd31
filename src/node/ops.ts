/**
 * The node's operations endpoint: plain HTTP on loopback (default 127.0.0.1:10350) for the
 * host's supervisor and Prometheus — `GET /healthz` (the daemon's health check: store and
 * modules) and `GET /metrics` (Prometheus text format). prom-client is imported at the first
 * scrape, so a node nobody scrapes never loads it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { METRICS, type MetricName, type NodeMetrics, type Sample } from './metrics.js';

export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** What prom-client's registry renders: a metric's name, help, type and series, as its own metrics' `get()` gives them. */
type PromValues = { name: string; help: string; type: 'counter' | 'gauge'; values: Sample[]; aggregator: 'sum' };
type PromRegistry = { metrics(): Promise<string>; contentType: string; registerMetric(metric: { name: string; type: string; get(): PromValues }): void };
/** The registry, and where its metrics read: the snapshot taken at the start of the scrape being rendered. */
type Rendering = { registry: PromRegistry; current: { snapshot: Map<MetricName, Sample[]> } };

/**
 * prom-client's registry alone (its own file: the package's index also loads cluster
 * aggregation, Pushgateway, histograms, summaries and default metrics). It writes the
 * exposition (escaping, label sets, value formats) of whatever metrics are registered with it —
 * anything whose `get()` returns a metric's name, help, type and series — so each metric here
 * hands it the scrape's snapshot as it is: no Counter or Gauge objects holding the values a
 * second time, rebuilt (reset, then every series set again) at every scrape. That was 0.2 MiB of
 * the daemon's heap, kept (docs/benchmarks.md, node status).
 */
async function buildRegistry(): Promise<Rendering> {
  const Registry = (await import('prom-client/lib/registry.js')).default as unknown as new () => PromRegistry;
  const registry = new Registry();
  const current = { snapshot: new Map<MetricName, Sample[]>() };
  const register = (name: string, help: string, type: 'counter' | 'gauge', values: () => Sample[]): void => {
    registry.registerMetric({ name, type, get: () => ({ name, help, type, values: values(), aggregator: 'sum' }) });
  };
  for (const [name, m] of Object.entries(METRICS) as [MetricName, (typeof METRICS)[MetricName]][]) {
    // a metric without labels and nothing counted yet shows 0, as prom-client's own would
    register(`edgecore_${name}`, m.help, m.type, () => {
      const v = current.snapshot.get(name) ?? [];
      return v.length || m.labels.length ? v : ZERO;
    });
  }
  register('process_resident_memory_bytes', 'Resident memory size in bytes.', 'gauge', () => [{ labels: {}, value: process.memoryUsage.rss() }]);
  register('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', 'counter', () => {
    const u = process.cpuUsage();
    return [{ labels: {}, value: (u.user + u.system) / 1e6 }];
  });
  return { registry, current };
}

const ZERO: Sample[] = [{ labels: {}, value: 0 }];

export async function startOps(o: { host: string; port: number; metrics: NodeMetrics; healthy: () => Promise<boolean> }): Promise<OpsServer> {
  let rendering: Promise<Rendering> | undefined;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (code: number, body: string, type = 'text/plain; charset=utf-8'): void => {
      res.writeHead(code, { 'content-type': type, 'content-length': String(Buffer.byteLength(body)) });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'only GET\n');
    if (path === '/healthz') {
      void o.healthy().then(
        (ok) => reply(ok ? 200 : 503, ok ? 'ok\n' : 'unhealthy\n'),
        () => reply(503, 'unhealthy\n'),
      );
      return;
    }
    if (path === '/metrics' && o.metrics.enabled) {
      rendering ??= buildRegistry();
      void rendering
        .then(async ({ registry, current }) => {
          // every metric's get() runs within registry.metrics()'s first synchronous step, so a
          // scrape beside this one cannot swap the snapshot under it
          current.snapshot = o.metrics.snapshot();
          const text = registry.metrics();
          reply(200, await text, registry.contentType);
        })
        .catch((e: unknown) => reply(500, `metrics failed: ${e instanceof Error ? e.message : String(e)}\n`));
      return;
    }
    reply(404, 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
