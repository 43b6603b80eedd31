/**
 * Every node → relay message, parsed at the contract's edge before any code sees it, then routed:
 * `sync` → the node sync (the current document again); `presence`, `heartbeat` and everything
 * else → liveness; `reported/state` → the node's reports (API writes); `reported/telemetry` →
 * an Event (OBJECT_EVENT) or a telemetry sample (the store's append-only log, deduplicated by
 * the outbox sequence, kept per node, within the node's rate limit); `rpc/response` → the call
 * waiting for it. A message that does not parse is refused here — counted and logged with its
 * field paths — and changes nothing. Only joined nodes are heard.
 */
import {
  heartbeatSchema,
  nodeReportedStatusSchema,
  OBJECT_EVENT,
  parsePayload,
  presenceSchema,
  reportedStateSchema,
  reportedTelemetrySchema,
  rpcResponseSchema,
  syncRequestSchema,
  TWIN_REPORTED,
  TWIN_SAMPLES,
  twinSamplesSchema,
  type ReportedState,
  type ReportedTelemetry,
} from '../../contract/payloads.js';
import { NODE_METRICS_KIND, nodeMetricsReportSchema } from '../../contract/metrics.js';
import { oversize } from '../../contract/limits.js';
import type { NodeChannel } from '../../contract/topics.js';
import type { FieldIssue } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { KeyedCoalescer } from '../../lib/coalescer.js';
import type * as z from 'zod';
import { toFieldIssues } from '../../lib/schema.js';
import type { RpcRouter } from '../rpc.js';
import type { CredentialStore } from '../store/credentials.js';
import type { RelayStore } from '../store/types.js';
import type { Liveness } from './liveness.js';
import type { NodeSync } from './node-sync.js';
import type { NodeReports } from './reports.js';
import type { NodeRateLimiter } from './telemetry.js';
import type { NodeUsageStore } from './usage.js';

export interface IngressDeps {
  /** this replica's telemetry */
  store: RelayStore;
  /** whose messages are heard: nodes with credentials (shared by a fleet) */
  credentials: CredentialStore;
  nodeSync: NodeSync;
  reports: NodeReports;
  liveness: Liveness;
  rpc: RpcRouter;
  limiter: NodeRateLimiter;
  /** the newest usage report per node (kubectl top) */
  usage: NodeUsageStore;
  /** telemetry rows kept per node */
  telemetryKeep: number;
  log: Logger;
  /** ms clock (the coalescer's token bucket) */
  now: () => number;
  /** documents a node's `sync` requests may cause: `burst` at once, then one per `intervalMs` (default SYNC_REPUBLISH) */
  syncRepublish?: { burst: number; intervalMs: number };
}

/** A node connects (and sends `sync`) about once per connection; a flood gets one document a second. */
export const SYNC_REPUBLISH = { burst: 3, intervalMs: 1000 };

/** refusals logged in full per node before the log keeps only every power of two */
const REFUSALS_LOGGED = 16;

export class NodeIngress {
  readonly counters = { received: 0, duplicates: 0, rejected: 0, limited: 0 };
  private readonly known = new Set<string>();
  /** nodes not known here yet whose credentials are being looked up (their messages wait, in order) */
  private readonly lookups = new Map<string, Promise<boolean>>();
  /** refused messages per node (the log's rate) */
  private readonly refusedBy = new Map<string, number>();
  /**
   * The republishes `sync` requests ask for (issue 18, point 4): a node may repeat `sync` at will;
   * its requests fold into one pending per node and run at most `burst` at once, then one per
   * interval, so a flood costs one document a second, never one per request.
   */
  readonly syncRequests: KeyedCoalescer;

  constructor(private readonly d: IngressDeps) {
    this.syncRequests = new KeyedCoalescer({ ...(d.syncRepublish ?? SYNC_REPUBLISH), now: d.now, run: async (node) => d.nodeSync.requestPublish(node) });
  }

  /** Nothing waits any more (the link stops). */
  stop(): void {
    this.syncRequests.clear();
  }

  joined(node: string): void {
    this.known.add(node);
  }

  /** whether this replica hears `node` now (it has credentials, as far as this replica has seen) */
  knows(node: string): boolean {
    return this.known.has(node);
  }

  /** the nodes this replica knows have credentials */
  nodes(): string[] {
    return [...this.known];
  }

  forget(node: string): void {
    this.known.delete(node);
    this.refusedBy.delete(node);
    this.syncRequests.forget(node);
  }

  /**
   * One message. Resolves once what it asked for is stored (a report's API write included), so
   * a transport that can acknowledge late does so after that.
   */
  handle(node: string, channel: NodeChannel, payload: Buffer): Promise<void> | undefined {
    if (!this.known.has(node)) return this.lookup(node, channel, payload);
    return this.accept(node, channel, payload);
  }

  /**
   * A node this replica has not heard of: maybe it joined through another replica (a fleet), maybe
   * it never joined (or was deleted: its session is being closed) — then it is not heard. Its
   * messages wait for one lookup and are then handled in the order they came.
   */
  private lookup(node: string, channel: NodeChannel, payload: Buffer): Promise<void> {
    let found = this.lookups.get(node);
    if (!found) {
      found = this.d.credentials.getNode(node).then(
        (n) => !!n,
        () => false,
      );
      this.lookups.set(node, found);
      void found.then((ok) => {
        this.lookups.delete(node);
        if (ok) this.known.add(node);
      });
    }
    return found.then((ok) => (ok ? this.accept(node, channel, payload) : undefined));
  }

  private accept(node: string, channel: NodeChannel, payload: Buffer): Promise<void> | undefined {
    this.counters.received++;
    // sizes first (issue 18, point 4): nothing over its channel's limit is parsed
    const big = oversize(channel, payload.length);
    if (big) return void this.refuse(node, channel, [{ path: '', reason: big }]);
    switch (channel) {
      case 'heartbeat':
        if (this.parse(node, channel, heartbeatSchema, payload)) this.d.liveness.heard(node);
        return undefined;
      case 'presence': {
        if (payload.length === 0) return undefined; // retained presence cleared
        const p = this.parse(node, channel, presenceSchema, payload);
        if (p) this.d.liveness.presence(node, p.online);
        return undefined;
      }
      case 'sync': {
        const s = this.parse(node, channel, syncRequestSchema, payload);
        if (!s) return undefined;
        this.d.liveness.heard(node);
        if (this.d.nodeSync.holdsCurrent(node, s.epoch, s.appliedVersion)) return undefined;
        this.d.nodeSync.noteHeld(node, s.epoch, s.appliedVersion);
        this.syncRequests.request(node);
        return undefined;
      }
      case 'reported/state': {
        const m = this.parse(node, channel, reportedStateSchema, payload);
        if (!m) return undefined;
        if (m.kind === 'Node') {
          const st = nodeReportedStatusSchema.safeParse(m.status);
          if (!st.success) return void this.refuse(node, channel, toFieldIssues(st.error, 'status'));
        }
        if (m.kind === NODE_METRICS_KIND) return void this.usage(node, channel, m);
        this.d.liveness.heard(node);
        return this.d.reports.state(node, m);
      }
      case 'reported/telemetry': {
        const m = this.parse(node, channel, reportedTelemetrySchema, payload);
        if (!m) return undefined;
        this.d.liveness.heard(node);
        if (m.event === TWIN_SAMPLES) return void this.samples(node, channel, m);
        if (!this.d.limiter.take(node)) return void this.limited(node);
        if (m.event === OBJECT_EVENT) return this.d.reports.event(node, m);
        this.append(node, m, [m.data]);
        return undefined;
      }
      case 'rpc/response': {
        const r = this.parse(node, channel, rpcResponseSchema, payload);
        if (!r) return undefined;
        this.d.liveness.heard(node);
        this.d.rpc.handle(node, r);
        return undefined;
      }
      default:
        return undefined;
    }
  }

  /** A usage report (kubectl top): about the sender only, kept in memory; which pods it may speak for is decided when read. */
  private usage(node: string, channel: NodeChannel, m: ReportedState): void {
    if (m.namespace !== '' || m.name !== node) return this.refuse(node, channel, [{ path: 'name', reason: `a usage report names its sender (namespace "", name "${node}")` }]);
    const r = nodeMetricsReportSchema.safeParse(m.status);
    if (!r.success) return this.refuse(node, channel, toFieldIssues(r.error, 'status'));
    this.d.liveness.heard(node);
    this.d.usage.record(node, r.data);
  }

  /**
   * The samples of one device's report (TWIN_SAMPLES): each kept as its own TWIN_REPORTED row, as
   * older nodes sent them, all in one transaction with the message's seq. Each sample counts
   * against the node's rate, as one message of an older node did.
   */
  private samples(node: string, channel: NodeChannel, m: ReportedTelemetry): void {
    const r = twinSamplesSchema.safeParse(m.data);
    if (!r.success) return this.refuse(node, channel, toFieldIssues(r.error, 'data'));
    if (!this.d.limiter.take(node, r.data.samples.length)) return this.limited(node);
    this.append(node, { ...m, event: TWIN_REPORTED }, r.data.samples);
  }

  private append(node: string, m: ReportedTelemetry, data: readonly unknown[]): void {
    const base = { node, kind: m.kind, namespace: m.namespace, name: m.name, event: m.event, desiredVersion: m.desiredVersion, seq: m.seq ?? null, timestamp: m.timestamp };
    const fresh = this.d.store.appendTelemetry(
      data.map((d) => ({ ...base, data: d })),
      m.stream,
      this.d.telemetryKeep,
    );
    if (!fresh) this.counters.duplicates++;
  }

  private limited(node: string): void {
    this.counters.limited++;
    const n = this.d.limiter.refused.get(node) ?? 0;
    // 1, 2, 4, 8...: a flood is visible without flooding the log too
    if ((n & (n - 1)) === 0) this.d.log.warn('telemetry over the node rate limit; dropped', { node, droppedSoFar: n });
  }

  /** The message, or undefined after refusing it (counted, logged with the field paths). */
  private parse<S extends z.ZodType>(node: string, channel: NodeChannel, schema: S, payload: Buffer): z.output<S> | undefined {
    const r = parsePayload(schema, payload);
    if (r.ok) return r.value;
    this.refuse(node, channel, r.issues);
    return undefined;
  }

  private refuse(node: string, channel: NodeChannel, issues: FieldIssue[]): void {
    this.counters.rejected++;
    const n = (this.refusedBy.get(node) ?? 0) + 1;
    this.refusedBy.set(node, n);
    // the first few of a node in full, then 32, 64, 128...: a flood is visible without flooding the log
    if (n <= REFUSALS_LOGGED || (n & (n - 1)) === 0) {
      this.d.log.warn('refused a malformed message', { node, channel, refusedSoFar: n, issues: issues.slice(0, 5).map((i) => `${i.path || '(root)'}: ${i.reason}`) });
    }
  }
}
