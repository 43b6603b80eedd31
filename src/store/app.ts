/**
 * The node's side of the application channel (docs/appchannel.md), over the store: which
 * node-local topics leave the node (the relay's routes, kept in `meta` so the node forwards the
 * right topics while the relay is away), accepting an app's message into the outbox (size limit,
 * a resent QoS 1 packet recognised, the outbox's app bound), and the downlink's high-water mark
 * (a message the relay sends again is acknowledged, not delivered twice).
 *
 * Writers: eventbus (MQTT publishes), servicebus (loopback HTTP posts), edgehub (routes, the
 * downlink mark). The outbox itself is written only through the uplink.
 */
import { createHash } from 'node:crypto';
import { appRoutesSchema, appTopicProblem, forwarded, type AppRoutes } from '../contract/appchan.js';
import type { NodeStore } from './store.js';
import type { Uplink } from './uplink.js';

const META_ROUTES = 'app.routes';
const META_DOWN_STREAM = 'app.down.stream';
const META_DOWN_HWM = 'app.down.hwm';
const TOO_LARGE = 'app.dropped.tooLarge';
const DUPLICATES = 'app.duplicates';

/** Until the relay says otherwise (its routes carry the node's quota). */
export const DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024;
/** a resent packet is recognised for this long after the first copy arrived */
const INBOUND_KEEP_MS = 24 * 3600 * 1000;

/** How a publisher identifies a message it may send again: its client id and packet id (MQTT), or an idempotency key (HTTP). */
export interface Resend {
  client: string;
  messageId: number;
  /** this may be a resend (MQTT: the start of a new connection; always true for an idempotency key) */
  dup: boolean;
}

export type AcceptResult = 'queued' | 'duplicate' | 'not-forwarded' | 'invalid-topic' | 'too-large' | 'dropped';

export type AppStore = Pick<NodeStore, 'db' | 'meta'>;

export class AppChannelStore {
  private cached?: AppRoutes | null;
  private readonly listeners = new Set<(r: AppRoutes) => void>();
  private accepted = 0;

  constructor(
    private readonly store: AppStore,
    private readonly uplink: Pick<Uplink, 'queueApp'>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The routes the relay sent last (undefined before the first). */
  routes(): AppRoutes | undefined {
    if (this.cached === undefined) {
      const raw = this.store.meta.get(META_ROUTES);
      let parsed: AppRoutes | null = null;
      if (raw) {
        try {
          const r = appRoutesSchema.safeParse(JSON.parse(raw));
          if (r.success) parsed = r.data;
        } catch {
          /* unreadable: as if none */
        }
      }
      this.cached = parsed;
    }
    return this.cached ?? undefined;
  }

  filters(): readonly string[] {
    return this.routes()?.filters ?? [];
  }

  maxMessageBytes(): number {
    return this.routes()?.quota.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  }

  /** Keep newer routes (same epoch and a higher version, or another epoch); false when stale. */
  setRoutes(r: AppRoutes): boolean {
    const cur = this.routes();
    if (cur && cur.epoch === r.epoch && r.version <= cur.version) return false;
    this.store.meta.set(META_ROUTES, JSON.stringify(r));
    this.cached = r;
    for (const l of this.listeners) l(r);
    return true;
  }

  onRoutes(listener: (r: AppRoutes) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Whether a message on this node-local topic leaves the node. */
  forwards(topic: string): boolean {
    return forwarded(this.filters(), topic);
  }

  /**
   * One message an app published: queued in the outbox (in one transaction with its resend
   * mark), or why not. Synchronous: when it returns `queued` the message is on disk.
   */
  accept(topic: string, payload: Buffer, resend?: Resend): AcceptResult {
    if (appTopicProblem(topic)) return 'invalid-topic';
    if (!this.forwards(topic)) return 'not-forwarded';
    if (payload.length > this.maxMessageBytes()) {
      this.store.meta.add(TOO_LARGE, 1);
      return 'too-large';
    }
    if (++this.accepted % 1000 === 0) this.pruneInbound();
    return this.store.db.transaction((): AcceptResult => {
      if (resend) {
        const digest = createHash('sha1').update(topic).update('\u0000').update(payload).digest('base64');
        const prev = this.store.db.prepare('SELECT digest FROM app_inbound WHERE client = ? AND message_id = ?').get(resend.client, resend.messageId) as { digest: string } | undefined;
        if (prev && resend.dup && prev.digest === digest) {
          this.store.meta.add(DUPLICATES, 1);
          return 'duplicate';
        }
        this.store.db
          .prepare('INSERT INTO app_inbound (client, message_id, digest, at) VALUES (?, ?, ?, ?) ON CONFLICT(client, message_id) DO UPDATE SET digest = excluded.digest, at = excluded.at')
          .run(resend.client, resend.messageId, digest, this.now().getTime());
      }
      return this.uplink.queueApp(topic, payload) === undefined ? 'dropped' : 'queued';
    })();
  }

  private pruneInbound(): void {
    this.store.db.prepare('DELETE FROM app_inbound WHERE at < ?').run(this.now().getTime() - INBOUND_KEEP_MS);
  }

  /** Messages refused as too large, and resends recognised, since the store was made. */
  counters(): { tooLarge: number; duplicates: number } {
    return { tooLarge: this.store.meta.getNumber(TOO_LARGE), duplicates: this.store.meta.getNumber(DUPLICATES) };
  }

  /** Whether downlink message `id` of `stream` was handled already (at or below the mark). */
  downSeen(stream: string, id: number): boolean {
    return this.store.meta.get(META_DOWN_STREAM) === stream && id <= this.store.meta.getNumber(META_DOWN_HWM);
  }

  /** Record downlink message `id` of `stream` as handled. */
  markDown(stream: string, id: number): void {
    this.store.db.transaction(() => {
      if (this.store.meta.get(META_DOWN_STREAM) !== stream) this.store.meta.set(META_DOWN_STREAM, stream);
      else if (id <= this.store.meta.getNumber(META_DOWN_HWM)) return;
      this.store.meta.set(META_DOWN_HWM, String(id));
    })();
  }
}
