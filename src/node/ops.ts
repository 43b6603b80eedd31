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

type PromRegistry = { metrics(): Promise<string>; contentType: string };
/** The registry, and where its collectors read: the snapshot taken at the start of the scrape being rendered. */
type Rendering = { registry: PromRegistry; current: { snapshot: Map<MetricName, Sample[]> } };

/**
 * prom-client's registry, counter and gauge, each from its own file: the package's index would
 * also load what a node never uses (cluster aggregation, Pushgateway, histograms, summaries,
 * default metrics): bundled, 4.1–4.3 MiB resident against 2.0–2.2 for these files in a bare
 * process (docs/benchmarks.md, node status).
 */
async function loadProm() {
  // CommonJS files: each class is the module's `default`
  const [registry, counter, gauge] = await Promise.all([import('prom-client/lib/registry.js'), import('prom-client/lib/counter.js'), import('prom-client/lib/gauge.js')]);
  return { Registry: registry.default, Counter: counter.default, Gauge: gauge.default };
}

async function buildRegistry(): Promise<Rendering> {
  const prom = await loadProm();
  const registry = new prom.Registry();
  const current = { snapshot: new Map<MetricName, Sample[]>() };
  for (const [name, m] of Object.entries(METRICS) as [MetricName, (typeof METRICS)[MetricName]][]) {
    const base = { name: `edgecore_${name}`, help: m.help, labelNames: [...m.labels] as string[], registers: [registry] };
    // the values are NodeMetrics' at each scrape (read once into the snapshot), not kept twice
    if (m.type === 'counter') {
      new prom.Counter({
        ...base,
        collect() {
          this.reset();
          for (const s of current.snapshot.get(name) ?? []) this.inc(s.labels, s.value);
        },
      });
    } else {
      new prom.Gauge({
        ...base,
        collect() {
          this.reset();
          for (const s of current.snapshot.get(name) ?? []) this.set(s.labels, s.value);
        },
      });
    }
  }
  new prom.Gauge({
    name: 'process_resident_memory_bytes',
    help: 'Resident memory size in bytes.',
    registers: [registry],
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  new prom.Counter({
    name: 'process_cpu_seconds_total',
    help: 'Total user and system CPU time spent in seconds.',
    registers: [registry],
    collect() {
      const u = process.cpuUsage();
      this.reset();
      this.inc((u.user + u.system) / 1e6);
    },
  });
  return { registry, current };
}

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
          // every collector runs within registry.metrics()'s first synchronous step, so a scrape
          // beside this one cannot swap the snapshot under it
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
