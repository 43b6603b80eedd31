/**
 * metamanager: the node's memory. Every desired object and every status goes through here into
 * SQLite before anyone acts on it; each committed change of a desired object is published as
 * `resource.changed`.
 * Statuses and telemetry go upstream through the node's uplink (status stored and queued in one
 * transaction). Serves the MetaServer — the Kubernetes API for what the node holds (server/) —
 * and issues the service-account tokens edged mounts into pods.
 */
import { isAbsolute, join } from 'node:path';
import type { Db } from '../../lib/sqlite.js';
import type { NodeMessage } from '../../node/messages.js';
import type { NodeContext, NodeModule } from '../../node/services.js';
import { startMetaServer, type MetaServer } from './server/index.js';

interface Item {
  run: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}
type Result = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Reports that arrive together (device twins on the same cycle, a burst of pod statuses) are
 * written in one SQLite transaction: one commit for the burst instead of one each. Each report
 * still succeeds or fails on its own (a savepoint each) and gets its own answer.
 */
class ReportBatch {
  private queue: Item[] = [];

  /** one transaction for the burst, a savepoint per report (made once: better-sqlite3 builds a transaction's wrappers on every call) */
  private readonly all: (batch: Item[], results: Result[]) => void;
  private readonly each: (run: () => unknown) => unknown;

  constructor(db: Db) {
    this.each = db.transaction((run: () => unknown) => run());
    this.all = db.transaction((batch: Item[], results: Result[]) => {
      for (const item of batch) {
        try {
          results.push({ ok: true, value: this.each(item.run) });
        } catch (error) {
          results.push({ ok: false, error });
        }
      }
    });
  }

  add<T>(run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.queue.length === 0) setImmediate(() => this.flush());
      this.queue.push({ run, resolve: resolve as (v: unknown) => void, reject });
    });
  }

  private flush(): void {
    const batch = this.queue;
    this.queue = [];
    const results: Result[] = [];
    try {
      this.all(batch, results);
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, i) => {
      const r = results[i]!;
      if (r.ok) item.resolve(r.value);
      else item.reject(r.error);
    });
  }
}

export class MetaManager implements NodeModule {
  readonly name = 'metamanager';
  readonly group = 'meta';
  private unsubscribe?: () => void;
  private server?: MetaServer;
  private reports!: ReportBatch;

  async start(ctx: NodeContext): Promise<void> {
    const { store, config, uplink, metrics } = ctx.services;
    this.reports = new ReportBatch(store.db);
    const resources = store.resources;
    // desired changes only: status writes (device reports, several a second) would cost a bus
    // delivery per subscriber for nothing (docs/benchmarks.md, footprint, fourth round)
    this.unsubscribe = resources.onChange(
      (change) => ctx.bus.publish({ type: 'resource.changed', change }),
      () => false,
    );
    ctx.bus.serve((msg: NodeMessage) => {
      switch (msg.type) {
        case 'desired.apply':
          return resources.put(msg.key, msg.spec, {
            origin: msg.origin,
            ...(msg.resourceVersion !== undefined ? { resourceVersion: msg.resourceVersion } : {}),
            ...(msg.uid ? { uid: msg.uid } : {}),
          });
        case 'desired.delete':
          return { deleted: resources.delete(msg.key) !== undefined };
        case 'desired.replace': {
          const changes = resources.replaceAll(
            msg.origin,
            msg.kinds,
            msg.items.map((i) => ({
              key: i.key,
              spec: i.spec,
              opts: { ...(i.resourceVersion !== undefined ? { resourceVersion: i.resourceVersion } : {}), ...(i.uid ? { uid: i.uid } : {}) },
            })),
          );
          return { changes: changes.length };
        }
        case 'status.report': {
          const upstream = 'upstream' in msg ? msg.upstream : msg.status;
          return this.reports.add(() => uplink.reportStatus(msg.key, msg.status, upstream));
        }
        case 'telemetry.report':
          return this.reports.add(() => void uplink.reportTelemetry(msg.key, msg.event, msg.data));
        case 'event.report':
          return this.reports.add(() => void uplink.reportEvent(msg.key, msg.event));
        case 'serviceaccount.issue':
          return this.server?.issue({ namespace: msg.pod.namespace, pod: msg.pod.name, uid: msg.pod.uid, serviceAccount: msg.serviceAccount });
        default:
          return undefined;
      }
    });
    const api = config.modules.metamanager.api;
    if (api.enabled) {
      const inData = (p: string): string => (!p || isAbsolute(p) ? p : join(config.dataDir, p));
      this.server = await startMetaServer({
        resources,
        nodeName: config.node.name,
        dir: join(config.dataDir, 'metaserver'),
        host: api.host,
        port: api.port,
        podNetworkAddress: api.podNetworkAddress,
        socket: inData(api.socket),
        limits: { maxWatchers: api.maxWatchers, maxBacklogBytes: api.maxWatchBacklogBytes, bookmarkSeconds: api.bookmarkSeconds, maxTimeoutSeconds: api.maxWatchTimeoutSeconds },
        version: ctx.services.version,
        now: ctx.services.now,
        log: ctx.log,
        onRequest: (verb, code) => metrics.count('metaserver_requests_total', { verb, code: String(code) }),
      });
      metrics.gauge('metaserver_watchers', () => this.server?.watches.size ?? 0);
      ctx.log.info('MetaServer listening', { host: api.host, port: this.server.port, podNetworkAddress: api.podNetworkAddress || undefined, socket: inData(api.socket) || undefined });
    }
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    const s = this.server;
    this.server = undefined;
    await s?.close();
  }
}
