/**
 * The relay's half of the sync contract: builds and publishes each node's versioned desired
 * document (retained), republishes it on every `sync` from the node and on start, and stores
 * what nodes report (deduplicated by the outbox sequence, in arrival order). Presence, heartbeat
 * and last-contact times feed node readiness.
 */
import {
  heartbeatSchema,
  nodeReportedStatusSchema,
  parsePayload,
  presenceSchema,
  reportedStateSchema,
  reportedTelemetrySchema,
  rpcResponseSchema,
  syncRequestSchema,
  type DesiredDocument,
  type ReportedState,
  type ReportedTelemetry,
} from '../contract/payloads.js';
import { SYNCED_KINDS } from '../contract/resources/kinds.js';
import { topics, type NodeChannel } from '../contract/topics.js';
import { errorMessage, type FieldIssue } from '../core/errors.js';
import type * as z from 'zod';
import { toFieldIssues } from '../lib/schema.js';
import type { Logger } from '../core/logger.js';
import type { RelayTransport } from './broker/transport.js';
import type { RpcRouter } from './rpc.js';
import type { RelayStore } from './store/types.js';

export interface SyncDeps {
  store: RelayStore;
  transport: RelayTransport;
  rpc: RpcRouter;
  log: Logger;
  now: () => Date;
  telemetryKeep: number;
}

/** Build a node's document from the store (pure apart from reads). */
export function buildDesired(store: RelayStore, node: string, now: Date): DesiredDocument {
  return {
    node,
    epoch: store.epoch(),
    version: store.desiredVersion(node),
    kinds: [...SYNCED_KINDS],
    items: store.listObjects({ node }).map((o) => ({
      kind: o.kind,
      namespace: o.namespace,
      name: o.name,
      uid: o.uid,
      generation: o.generation,
      spec: o.manifest,
    })),
    timestamp: now.getTime(),
  };
}

export class RelaySync {
  /** last contact per node, flushed to the store in batches */
  private readonly contacts = new Map<string, { at: Date; appliedVersion?: number }>();
  private readonly dirty = new Set<string>();
  private readonly known = new Set<string>();
  private timer?: NodeJS.Timeout;
  readonly counters = { received: 0, duplicates: 0, rejected: 0, published: 0 };

  constructor(private readonly d: SyncDeps) {}

  start(flushMs = 5000): void {
    for (const n of this.d.store.listNodes()) {
      this.known.add(n.name);
      if (n.lastContact) this.contacts.set(n.name, { at: new Date(n.lastContact) });
    }
    this.timer = setInterval(() => this.flushContacts(), flushMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.flushContacts();
  }

  nodeJoined(name: string): void {
    this.known.add(name);
  }

  nodeDeleted(name: string): void {
    this.known.delete(name);
    this.contacts.delete(name);
  }

  lastContact(name: string): Date | undefined {
    return this.contacts.get(name)?.at;
  }

  flushContacts(): void {
    if (this.dirty.size === 0) return;
    const batch = new Map<string, { at: Date; appliedVersion?: number }>();
    for (const n of this.dirty) {
      const c = this.contacts.get(n);
      if (c) batch.set(n, c);
    }
    this.dirty.clear();
    try {
      this.d.store.setContacts(batch);
    } catch (e) {
      this.d.log.warn('could not save contact times', { error: errorMessage(e) });
    }
  }

  /** Publish the current document of each node (retained): after a start or a change. */
  async publishDesired(nodes: Iterable<string>): Promise<void> {
    const now = this.d.now();
    const jobs: Promise<void>[] = [];
    for (const node of nodes) {
      const doc = buildDesired(this.d.store, node, now);
      this.counters.published++;
      jobs.push(
        this.d.transport.publish(topics.desired(node), JSON.stringify(doc), { qos: 1, retain: true }).catch((e: Error) => {
          this.d.log.warn('could not publish desired document', { node, error: e.message });
        }),
      );
    }
    await Promise.all(jobs);
  }

  async republishAll(): Promise<void> {
    const names = new Set(this.d.store.listNodes().map((n) => n.name));
    await this.publishDesired(names);
  }

  private touch(node: string, appliedVersion?: number): void {
    const prev = this.contacts.get(node);
    this.contacts.set(node, { at: this.d.now(), ...(appliedVersion !== undefined ? { appliedVersion } : prev?.appliedVersion !== undefined ? { appliedVersion: prev.appliedVersion } : {}) });
    this.dirty.add(node);
  }

  /**
   * Every node → relay message. Synchronous: runs before the broker acknowledges it. Each is
   * parsed against the contract's schema first; anything else is refused here and counted
   * (`counters.rejected`), never handed on.
   */
  handle(node: string, channel: NodeChannel, payload: Buffer): void {
    if (!this.known.has(node)) {
      // a node that never joined (only possible on an external broker without ACL): ignore
      if (!this.d.store.getNode(node)) return;
      this.known.add(node);
    }
    this.counters.received++;
    switch (channel) {
      case 'heartbeat': {
        const hb = this.parse(node, channel, heartbeatSchema, payload);
        if (hb) this.touch(node, hb.v);
        return;
      }
      case 'presence': {
        if (payload.length === 0) return; // retained presence cleared
        const p = this.parse(node, channel, presenceSchema, payload);
        if (!p) return;
        this.d.store.setPresence(node, p.online, this.d.now());
        this.touch(node);
        return;
      }
      case 'sync': {
        const s = this.parse(node, channel, syncRequestSchema, payload);
        if (!s) return;
        this.touch(node);
        // a node that already holds the current document needs nothing (after a reconnect it got
        // the retained one anyway); a reconnect storm then costs one document per node, not two
        if (s.epoch === this.d.store.epoch() && s.appliedVersion === this.d.store.desiredVersion(node)) return;
        void this.publishDesired([node]);
        return;
      }
      case 'reported/state': {
        const m = this.parse(node, channel, reportedStateSchema, payload);
        if (m) this.onState(node, m);
        return;
      }
      case 'reported/telemetry': {
        const m = this.parse(node, channel, reportedTelemetrySchema, payload);
        if (m) this.onTelemetry(node, m);
        return;
      }
      case 'rpc/response': {
        const r = this.parse(node, channel, rpcResponseSchema, payload);
        if (!r) return;
        this.touch(node);
        this.d.rpc.handle(node, r);
        return;
      }
      default:
        return;
    }
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

  private fresh(node: string, m: { seq?: number; stream?: string }): boolean {
    if (typeof m.seq !== 'number' || typeof m.stream !== 'string') return true;
    if (this.d.store.acceptSeq(node, m.stream, m.seq)) return true;
    this.counters.duplicates++;
    return false;
  }

  private onState(node: string, m: ReportedState): void {
    let info: z.output<typeof nodeReportedStatusSchema> | undefined;
    if (m.kind === 'Node') {
      const st = nodeReportedStatusSchema.safeParse(m.status);
      if (!st.success || m.name !== node) {
        this.refuse(node, 'reported/state', st.success ? [{ path: 'name', reason: `must be "${node}" (the sender)` }] : toFieldIssues(st.error, 'status'));
        return;
      }
      info = st.data;
    }
    this.touch(node);
    this.d.store.transaction(() => {
      if (!this.fresh(node, m)) return;
      if (info) {
        const applied = info.appliedVersion || m.desiredVersion;
        this.d.store.setNodeInfo(node, info, applied);
        this.touch(node, applied);
        return;
      }
      this.d.store.putReported({
        node,
        kind: m.kind,
        namespace: m.namespace,
        name: m.name,
        status: m.status,
        desiredVersion: m.desiredVersion,
        updatedAt: new Date(m.timestamp).toISOString(),
      });
    });
  }

  private onTelemetry(node: string, m: ReportedTelemetry): void {
    this.touch(node);
    this.d.store.transaction(() => {
      if (!this.fresh(node, m)) return;
      this.d.store.appendTelemetry(
        {
          node,
          kind: m.kind,
          namespace: m.namespace,
          name: m.name,
          event: m.event,
          data: m.data,
          desiredVersion: m.desiredVersion,
          seq: m.seq ?? null,
          timestamp: m.timestamp,
        },
        this.d.telemetryKeep,
      );
    });
  }
}
