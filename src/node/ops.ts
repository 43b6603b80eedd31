/**
 * The node's operations endpoint: plain HTTP on loopback (default 127.0.0.1:10350) for the
 * host's supervisor and Prometheus — `GET /healthz` (the daemon's health check: store and
 * modules) and `GET /metrics` (Prometheus text format). prom-client is imported at the first
 * scrape, so a node nobody scrapes never loads it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sameJson } from '../lib/json.js';
import { METRICS, type MetricName, type NodeMetrics, type Sample } from './metrics.js';

export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** What prom-client's registry renders: a metric's name, help, type and series, as its own metrics' `get()` gives them. */
type PromValues = { name: string; help: string; type: 'counter' | 'gauge'; values: Sample[]; aggregator: 'sum' };
type PromRegistry = { getSingleMetricAsString(name: string): Promise<string>; contentType: string; registerMetric(metric: { name: string; type: string; get(): PromValues }): void };
/**
 * One registered metric: its series now (read from the scrape's snapshot), and the text
 * prom-client wrote for it at an earlier scrape with the series it wrote then. `live`: read from
 * the process at every scrape (always written).
 */
type Rendered = { name: string; values: () => Sample[]; live: boolean; text?: string | Promise<string>; labels?: Record<string, string>[]; numbers?: number[] };
/** The registry, its metrics in order, and where they read: the snapshot taken at the start of the scrape being rendered. */
type Rendering = { registry: PromRegistry; metrics: Rendered[]; current: { snapshot: Map<MetricName, Sample[]> } };

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
  const metrics: Rendered[] = [];
  const register = (name: string, help: string, type: 'counter' | 'gauge', values: () => Sample[], live = false): void => {
    registry.registerMetric({ name, type, get: () => ({ name, help, type, values: values(), aggregator: 'sum' }) });
    metrics.push({ name, values, live });
  };
  for (const [name, m] of Object.entries(METRICS) as [MetricName, (typeof METRICS)[MetricName]][]) {
    // a metric without labels and nothing counted yet shows 0, as prom-client's own would
    register(`edgecore_${name}`, m.help, m.type, () => {
      const v = current.snapshot.get(name) ?? [];
      return v.length || m.labels.length ? v : ZERO;
    });
  }
  register('process_resident_memory_bytes', 'Resident memory size in bytes.', 'gauge', () => [{ labels: {}, value: process.memoryUsage.rss() }], true);
  register(
    'process_cpu_seconds_total',
    'Total user and system CPU time spent in seconds.',
    'counter',
    () => {
      const u = process.cpuUsage();
      return [{ labels: {}, value: (u.user + u.system) / 1e6 }];
    },
    true,
  );
  return { registry, metrics, current };
}

/**
 * One scrape's exposition: what `registry.metrics()` writes (each metric's text in order,
 * a blank line between), with each metric's text written by prom-client again only when its
 * series changed since it last wrote it — most of the catalogue does not change between two
 * scrapes, and writing it all again was ~80 KB of garbage per scrape (docs/benchmarks.md, node
 * status). Every metric whose text is written has its `get()` run here, synchronously, so the
 * snapshot cannot be swapped under it by a scrape beside this one.
 */
async function render(r: Rendering, snapshot: Map<MetricName, Sample[]>): Promise<string> {
  r.current.snapshot = snapshot;
  const texts: (string | Promise<string>)[] = [];
  for (const m of r.metrics) {
    const v = m.live ? undefined : m.values();
    let same = v !== undefined && m.text !== undefined && m.numbers!.length === v.length;
    for (let i = 0; same && i < v!.length; i++) same = m.numbers![i] === v![i]!.value && sameJson(m.labels![i]!, v![i]!.labels);
    if (same) {
      texts.push(m.text!);
      continue;
    }
    const text = r.registry.getSingleMetricAsString(m.name);
    texts.push(text);
    if (!v) {
      text.catch(() => undefined); // its failure is the await's below; none goes unhandled if an earlier one throws
      continue;
    }
    m.labels = v.map((x) => x.labels);
    m.numbers = v.map((x) => x.value);
    m.text = text;
    text.then(
      (t) => {
        if (m.text === text) m.text = t; // kept as the string: a later scrape need not wait for it
      },
      () => {
        if (m.text === text) m.text = undefined; // written again next time
      },
    );
  }
  r.current.snapshot = EMPTY; // not kept until the next scrape
  // every get() above ran when its text was asked for; what is awaited here are the texts
  for (let i = 0; i < texts.length; i++) if (typeof texts[i] !== 'string') texts[i] = await texts[i]!;
  return `${texts.join('\n\n')}\n`;
}

const EMPTY = new Map<MetricName, Sample[]>();
/** how long a scraper's idle connection is kept: past Prometheus's default scrape interval (1 min) */
const SCRAPE_KEEPALIVE_MS = 75_000;
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
        .then(async (r) => reply(200, await render(r, o.metrics.snapshot()), r.registry.contentType))
        .catch((e: unknown) => reply(500, `metrics failed: ${e instanceof Error ? e.message : String(e)}\n`));
      return;
    }
    reply(404, 'not found\n');
  });
  // a scraper's connection stays open between scrapes (Prometheus keeps its connections, and
  // scrapes every 15 s to 1 min): each scrape is then a request, not also a connection accepted,
  // set up and torn down (node's default keeps an idle connection 5 s)
  server.keepAliveTimeout = SCRAPE_KEEPALIVE_MS;
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
