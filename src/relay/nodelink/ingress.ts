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
  type ReportedTelemetry,
} from '../../contract/payloads.js';
import type { NodeChannel } from '../../contract/topics.js';
import type { FieldIssue } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type * as z from 'zod';
import { toFieldIssues } from '../../lib/schema.js';
import type { RpcRouter } from '../rpc.js';
import type { RelayStore } from '../store/types.js';
import type { Liveness } from './liveness.js';
import type { NodeSync } from './node-sync.js';
import type { NodeReports } from './reports.js';
import type { NodeRateLimiter } from './telemetry.js';

export interface IngressDeps {
  store: RelayStore;
  nodeSync: NodeSync;
  reports: NodeReports;
  liveness: Liveness;
  rpc: RpcRouter;
  limiter: NodeRateLimiter;
  /** telemetry rows kept per node */
  telemetryKeep: number;
  log: Logger;
}

export class NodeIngress {
  readonly counters = { received: 0, duplicates: 0, rejected: 0, limited: 0 };
  private readonly known = new Set<string>();

  constructor(private readonly d: IngressDeps) {
    for (const n of d.store.listNodes()) this.known.add(n.name);
  }

  joined(node: string): void {
    this.known.add(node);
  }

  forget(node: string): void {
    this.known.delete(node);
  }

  /**
   * One message. Resolves once what it asked for is stored (a report's API write included), so
   * a transport that can acknowledge late does so after that.
   */
  handle(node: string, channel: NodeChannel, payload: Buffer): Promise<void> | undefined {
    if (!this.known.has(node)) {
      // a node that never joined (or was deleted: its session is being closed): not heard
      if (!this.d.store.getNode(node)) return undefined;
      this.known.add(node);
    }
    this.counters.received++;
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
        if (!this.d.nodeSync.holdsCurrent(node, s.epoch, s.appliedVersion)) this.d.nodeSync.requestPublish(node);
        return undefined;
      }
      case 'reported/state': {
        const m = this.parse(node, channel, reportedStateSchema, payload);
        if (!m) return undefined;
        if (m.kind === 'Node') {
          const st = nodeReportedStatusSchema.safeParse(m.status);
          if (!st.success) return void this.refuse(node, channel, toFieldIssues(st.error, 'status'));
        }
        this.d.liveness.heard(node);
        return this.d.reports.state(node, m);
      }
      case 'reported/telemetry': {
        const m = this.parse(node, channel, reportedTelemetrySchema, payload);
        if (!m) return undefined;
        this.d.liveness.heard(node);
        if (!this.d.limiter.take(node)) return void this.limited(node);
        if (m.event === OBJECT_EVENT) return this.d.reports.event(node, m);
        this.sample(node, m);
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

  private sample(node: string, m: ReportedTelemetry): void {
    const fresh = this.d.store.appendTelemetry(
      { node, kind: m.kind, namespace: m.namespace, name: m.name, event: m.event, data: m.data, desiredVersion: m.desiredVersion, seq: m.seq ?? null, timestamp: m.timestamp },
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
    this.d.log.warn('refused a malformed message', { node, channel, issues: issues.slice(0, 5).map((i) => `${i.path || '(root)'}: ${i.reason}`) });
  }
}
