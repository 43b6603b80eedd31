/**
 * Group commit for the PostgreSQL store (issue 19): the commits that arrive while one transaction
 * runs go together in the next one. Each caller's ops stay all-or-nothing and are checked against
 * the state the batch's earlier groups left; a group whose precondition fails fails alone and
 * writes nothing, the others commit. A 19,700-node fleet writes ~200 Node statuses a second after
 * a full connect; one transaction (and one change-feed read on every replica) per write was what
 * kept the controllers' leader busy (docs/benchmarks.md, the fleet arms).
 *
 * `planBatch` is pure: from the batch's groups and the current rows of every key they name, it
 * returns each group's outcome, the final state of every key written and the log rows — the
 * executors only read those rows and write the result: objects-postgres.ts a batch in a few
 * statements, objects-sqlite.ts one commit (a batch of one group).
 */
import type { KubeObject } from '../../contract/kube/types.js';
import { checkPrecondition, type ObjectKey, type StoredEvent, type StoreOp } from './objects.js';

/** A stored row: its revision and the object's JSON text. */
export interface StoredRow {
  revision: number;
  object: string;
}

export interface LogEntry {
  revision: number;
  type: StoredEvent['type'];
  key: ObjectKey;
  object: string;
  prev: string | null;
}

export interface BatchPlan {
  /** per group, in order: its events (empty when it wrote nothing) or why it failed (it wrote nothing) */
  outcomes: (StoredEvent[] | Error)[];
  /** the final state of every key the batch wrote: a row, or null (deleted) */
  writes: Map<string, { key: ObjectKey; row: StoredRow | null }>;
  log: LogEntry[];
  /** the revision after the batch (= the head when nothing was written) */
  revision: number;
}

/** One map key per object key. */
export const keyId = (k: ObjectKey): string => `${k.group}\u0000${k.resource}\u0000${k.namespace}\u0000${k.name}`;

/** Every distinct key a batch's groups name (the rows the executor reads under the lock). */
export function batchKeys(groups: readonly (readonly StoreOp[])[]): ObjectKey[] {
  const keys = new Map<string, ObjectKey>();
  for (const ops of groups) for (const op of ops) keys.set(keyId(op.key), op.key);
  return [...keys.values()];
}

/** A row as the batch sees it: text, and the parsed object when the batch made it (no parse again). */
interface Seen extends StoredRow {
  parsed?: KubeObject;
}

/**
 * Apply `groups` in order to the rows in `current` (every key they name that exists, keyed by
 * keyId) at revision `head`: each group all-or-nothing, each write the next revision.
 */
export function planBatch(head: number, groups: readonly (readonly StoreOp[])[], current: ReadonlyMap<string, StoredRow>): BatchPlan {
  /** what the committed groups left: key → row, or null (deleted) */
  const state = new Map<string, Seen | null>();
  const writes: BatchPlan['writes'] = new Map();
  const log: LogEntry[] = [];
  const outcomes: BatchPlan['outcomes'] = [];
  let rev = head;
  const look = (id: string, local: Map<string, Seen | null>): Seen | undefined => {
    const v = local.has(id) ? local.get(id) : state.has(id) ? state.get(id) : current.get(id);
    return v ?? undefined;
  };
  const parsed = (s: Seen): KubeObject => (s.parsed ??= JSON.parse(s.object) as KubeObject);
  for (const ops of groups) {
    const local = new Map<string, Seen | null>();
    const localKeys = new Map<string, ObjectKey>();
    const events: StoredEvent[] = [];
    const entries: LogEntry[] = [];
    let r = rev;
    try {
      for (const op of ops) {
        const id = keyId(op.key);
        const cur = look(id, local);
        if (checkPrecondition(op, cur?.revision)) continue;
        r++;
        const key = { ...op.key };
        localKeys.set(id, key);
        if (op.op === 'delete') {
          const last = parsed(cur!);
          const object = { ...last, metadata: { ...last.metadata, resourceVersion: String(r) } };
          entries.push({ revision: r, type: 'DELETED', key, object: JSON.stringify(object), prev: cur!.object });
          events.push({ type: 'DELETED', key: { ...key }, object, revision: r, prev: last });
          local.set(id, null);
          continue;
        }
        const object = { ...op.object, metadata: { ...op.object.metadata, resourceVersion: String(r) } };
        const text = JSON.stringify(object);
        if (op.op === 'create') {
          entries.push({ revision: r, type: 'ADDED', key, object: text, prev: null });
          events.push({ type: 'ADDED', key: { ...key }, object, revision: r });
        } else {
          entries.push({ revision: r, type: 'MODIFIED', key, object: text, prev: cur!.object });
          events.push({ type: 'MODIFIED', key: { ...key }, object, revision: r, prev: parsed(cur!) });
        }
        local.set(id, { revision: r, object: text, parsed: object });
      }
    } catch (e) {
      outcomes.push(e instanceof Error ? e : new Error(String(e)));
      continue;
    }
    rev = r;
    for (const [id, v] of local) {
      state.set(id, v);
      writes.set(id, { key: localKeys.get(id)!, row: v && { revision: v.revision, object: v.object } });
    }
    log.push(...entries);
    outcomes.push(events);
  }
  return { outcomes, writes, log, revision: rev };
}

/** A commit waiting for its batch. */
interface Waiting {
  ops: readonly StoreOp[];
  resolve(events: StoredEvent[]): void;
  reject(e: unknown): void;
}

export interface CommitQueueOptions {
  /** groups in one transaction at most */
  maxGroups: number;
  /** whether a failed batch may be tried again one group at a time (not when the store is away) */
  retryAlone(e: unknown): boolean;
}

/**
 * One transaction at a time; what arrives meanwhile goes in the next. `run` commits a batch of
 * groups in one transaction and returns each group's outcome; when it throws, nothing of the
 * batch was committed (or the outcome is unknown: the error says so and every group gets it).
 */
export class CommitQueue {
  private readonly waiting: Waiting[] = [];
  private running = false;
  /** transactions run and groups committed through them (ops metrics, tests) */
  readonly stats = { transactions: 0, groups: 0 };

  constructor(
    private readonly run: (groups: readonly (readonly StoreOp[])[]) => Promise<(StoredEvent[] | Error)[]>,
    private readonly opts: CommitQueueOptions,
  ) {}

  submit(ops: readonly StoreOp[]): Promise<StoredEvent[]> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ ops, resolve, reject });
      // after the current microtasks: commits issued together start together
      if (!this.running) {
        this.running = true;
        queueMicrotask(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.waiting.length) {
        const batch = this.waiting.splice(0, this.opts.maxGroups);
        try {
          this.settle(batch, await this.once(batch));
        } catch (e) {
          if (batch.length === 1 || !this.opts.retryAlone(e)) {
            for (const w of batch) w.reject(e);
            continue;
          }
          // one group's write broke the whole transaction: each alone, so only that one fails
          for (const w of batch) {
            try {
              this.settle([w], await this.once([w]));
            } catch (e1) {
              w.reject(e1);
            }
          }
        }
      }
    } finally {
      this.running = false;
    }
  }

  private async once(batch: Waiting[]): Promise<(StoredEvent[] | Error)[]> {
    const out = await this.run(batch.map((w) => w.ops));
    this.stats.transactions++;
    this.stats.groups += batch.length;
    return out;
  }

  private settle(batch: Waiting[], outcomes: (StoredEvent[] | Error)[]): void {
    batch.forEach((w, i) => {
      const o = outcomes[i]!;
      if (o instanceof Error) w.reject(o);
      else w.resolve(o);
    });
  }
}
