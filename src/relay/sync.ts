/**
 * The relay's half of the sync contract: builds and publishes each node's versioned desired
 * document (retained), republishes it on every `sync` from the node and on start, and stores
 * what nodes report (deduplicated by the outbox sequence, in arrival order). Presence, heartbeat
 * and last-contact times feed node readiness.
 */
import type {
  DesiredDocument,
  Heartbeat,
  NodeReportedStatus,
  Presence,
  ReportedState,
  ReportedTelemetry,
  RpcResponse,
} from '../contract/payloads.js';
import { SYNCED_KINDS } from '../contract/resources/kinds.js';
import { topics, type NodeChannel } from '../contract/topics.js';
import { errorMessage } from '../core/errors.js';
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
      spec: o.manifest as unknown as Record<string, unknown>,
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

  /** Every node → relay message. Synchronous: runs before the broker acknowledges it. */
  handle(node: string, channel: NodeChannel, payload: Buffer): void {
    if (!this.known.has(node)) {
      // a node that never joined (only possible on an external broker without ACL): ignore
      if (!this.d.store.getNode(node)) return;
      this.known.add(node);
    }
    this.counters.received++;
    let msg: unknown;
    try {
      msg = payload.length ? JSON.parse(payload.toString('utf8')) : null;
    } catch {
      this.counters.rejected++;
      this.d.log.warn('dropping malformed message', { node, channel });
      return;
    }
    switch (channel) {
      case 'heartbeat': {
        const hb = msg as Heartbeat;
        this.touch(node, typeof hb?.v === 'number' ? hb.v : undefined);
        return;
      }
      case 'presence': {
        if (!msg) return; // retained presence cleared
        const p = msg as Presence;
        this.d.store.setPresence(node, !!p.online, this.d.now());
        this.touch(node);
        return;
      }
      case 'sync': {
        this.touch(node);
        void this.publishDesired([node]);
        return;
      }
      case 'reported/state':
        return this.onState(node, msg as ReportedState);
      case 'reported/telemetry':
        return this.onTelemetry(node, msg as ReportedTelemetry);
      case 'rpc/response':
        this.touch(node);
        this.d.rpc.handle(node, msg as RpcResponse);
        return;
      default:
        return;
    }
  }

  private fresh(node: string, m: { seq?: number; stream?: string }): boolean {
    if (typeof m.seq !== 'number' || typeof m.stream !== 'string') return true;
    if (this.d.store.acceptSeq(node, m.stream, m.seq)) return true;
    this.counters.duplicates++;
    return false;
  }

  private onState(node: string, m: ReportedState): void {
    if (!m || typeof m.kind !== 'string' || typeof m.name !== 'string') {
      this.counters.rejected++;
      return;
    }
    this.touch(node);
    this.d.store.transaction(() => {
      if (!this.fresh(node, m)) return;
      const desiredVersion = Number(m.desiredVersion) || 0;
      if (m.kind === 'Node') {
        const st = (m.status ?? {}) as Partial<NodeReportedStatus>;
        this.d.store.setNodeInfo(node, st as Record<string, unknown>, Number(st.appliedVersion) || desiredVersion);
        this.touch(node, Number(st.appliedVersion) || desiredVersion);
        return;
      }
      this.d.store.putReported({
        node,
        kind: m.kind,
        namespace: m.namespace ?? '',
        name: m.name,
        status: m.status,
        desiredVersion,
        updatedAt: new Date(m.timestamp || this.d.now().getTime()).toISOString(),
      });
    });
  }

  private onTelemetry(node: string, m: ReportedTelemetry): void {
    if (!m || typeof m.event !== 'string') {
      this.counters.rejected++;
      return;
    }
    this.touch(node);
    this.d.store.transaction(() => {
      if (!this.fresh(node, m)) return;
      this.d.store.appendTelemetry(
        {
          node,
          kind: String(m.kind ?? ''),
          namespace: String(m.namespace ?? ''),
          name: String(m.name ?? ''),
          event: m.event,
          data: m.data,
          desiredVersion: Number(m.desiredVersion) || 0,
          seq: typeof m.seq === 'number' ? m.seq : null,
          timestamp: Number(m.timestamp) || this.d.now().getTime(),
        },
        this.d.telemetryKeep,
      );
    });
  }
}
