/**
 * The node's operations endpoint: plain HTTP on loopback (default 127.0.0.1:10350) for the
 * host's supervisor and Prometheus — `GET /healthz` (the daemon's health check: store and
 * modules) and `GET /metrics` (Prometheus text format). prom-client is imported at the first
 * scrape, so a node nobody scrapes never loads it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { METRICS, type MetricName, type NodeMetrics } from './metrics.js';

export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

type PromRegistry = { metrics(): Promise<string>; contentType: string };

async function buildRegistry(metrics: NodeMetrics): Promise<PromRegistry> {
  // a CommonJS package: its classes are on `default` once bundled
  const mod = await import('prom-client');
  const prom = mod.default ?? mod;
  const registry = new prom.Registry();
  for (const [name, m] of Object.entries(METRICS) as [MetricName, (typeof METRICS)[MetricName]][]) {
    const base = { name: `edgecore_${name}`, help: m.help, labelNames: [...m.labels] as string[], registers: [registry] };
    // the values are read from NodeMetrics at each scrape, not kept twice
    if (m.type === 'counter') {
      new prom.Counter({
        ...base,
        collect() {
          this.reset();
          for (const s of metrics.samples(name)) this.inc(s.labels, s.value);
        },
      });
    } else {
      new prom.Gauge({
        ...base,
        collect() {
          this.reset();
          for (const s of metrics.samples(name)) this.set(s.labels, s.value);
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
  return registry;
}

export async function startOps(o: { host: string; port: number; metrics: NodeMetrics; healthy: () => Promise<boolean> }): Promise<OpsServer> {
  let registry: Promise<PromRegistry> | undefined;
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
      registry ??= buildRegistry(o.metrics);
      void registry
        .then(async (r) => reply(200, await r.metrics(), r.contentType))
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
