/**
 * Per-rule counters (what a Rule's status shows) and per-node ones, kept in memory where they
 * happen and saved to the message store every few seconds (and on stop), so they survive a
 * restart (a crash loses at most the last interval). Keyed by the rule's uid: a rule deleted
 * and created again starts from zero.
 */
export type DropReason = 'tooLarge' | 'rate' | 'bytes' | 'queueFull' | 'offline' | 'expired' | 'deadLetter' | 'failed';

export interface RuleCounts {
  messages: number;
  bytes: number;
  successMessages: number;
  failMessages: number;
  drops: number;
  dropped: Partial<Record<DropReason, number>>;
  errors: string[];
  lastMessageTime?: string;
}

export interface NodeCounts {
  messages: number;
  bytes: number;
  duplicates: number;
  unrouted: number;
  rejected: number;
  dropped: Partial<Record<DropReason, number>>;
}

const ERRORS_KEPT = 5;

const emptyRule = (): RuleCounts => ({ messages: 0, bytes: 0, successMessages: 0, failMessages: 0, drops: 0, dropped: {}, errors: [] });
const emptyNode = (): NodeCounts => ({ messages: 0, bytes: 0, duplicates: 0, unrouted: 0, rejected: 0, dropped: {} });

export class Counters {
  private readonly rules = new Map<string, RuleCounts>();
  private readonly nodes = new Map<string, NodeCounts>();
  /** rules whose counters changed since the status writer last looked */
  readonly changed = new Set<string>();
  private dirty = new Set<string>();

  constructor(private readonly now: () => Date) {}

  /** Counters saved before (rule uid → JSON). */
  load(saved: ReadonlyMap<string, string>): void {
    for (const [uid, json] of saved) {
      try {
        this.rules.set(uid, { ...emptyRule(), ...(JSON.parse(json) as Partial<RuleCounts>) });
      } catch {
        /* unreadable: start from zero */
      }
    }
  }

  rule(uid: string): RuleCounts {
    let c = this.rules.get(uid);
    if (!c) this.rules.set(uid, (c = emptyRule()));
    return c;
  }

  node(name: string): NodeCounts {
    let c = this.nodes.get(name);
    if (!c) this.nodes.set(name, (c = emptyNode()));
    return c;
  }

  private touch(uid: string): RuleCounts {
    this.changed.add(uid);
    this.dirty.add(uid);
    return this.rule(uid);
  }

  matched(uid: string, bytes: number): void {
    const c = this.touch(uid);
    c.messages++;
    c.bytes += bytes;
    c.lastMessageTime = this.now().toISOString();
  }

  delivered(uid: string, n = 1): void {
    this.touch(uid).successMessages += n;
  }

  failed(uid: string, error: string): void {
    const c = this.touch(uid);
    c.failMessages++;
    this.error(c, error);
  }

  dropped(uid: string, reason: DropReason, error?: string): void {
    const c = this.touch(uid);
    c.drops++;
    c.dropped[reason] = (c.dropped[reason] ?? 0) + 1;
    if (error) this.error(c, error);
  }

  nodeDropped(node: string, reason: DropReason): void {
    const c = this.node(node);
    c.dropped[reason] = (c.dropped[reason] ?? 0) + 1;
  }

  private error(c: RuleCounts, e: string): void {
    c.errors = [`${this.now().toISOString()} ${e}`.slice(0, 512), ...c.errors].slice(0, ERRORS_KEPT);
  }

  forget(uid: string): void {
    this.rules.delete(uid);
    this.changed.delete(uid);
    this.dirty.delete(uid);
  }

  /** What changed since the last save (rule uid → JSON), and forget that it did. */
  takeDirty(): Map<string, string> {
    const out = new Map<string, string>();
    for (const uid of this.dirty) {
      const c = this.rules.get(uid);
      if (c) out.set(uid, JSON.stringify(c));
    }
    this.dirty = new Set();
    return out;
  }
}
