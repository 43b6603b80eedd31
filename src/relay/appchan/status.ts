/**
 * Each Rule's status, from the counters and the routing table: KubeEdge's fields
 * (successMessages, failMessages, errors) and edgecore's (messages, bytes, drops by reason,
 * pending, a Ready condition saying why a rule does not route). Written through the API (the
 * status subresource, a merge patch) by the channel's own identity, at most once per interval
 * per rule and only when something changed.
 */
import type { KubeObject } from '../../contract/kube/types.js';
import { stableStringify } from '../../lib/json.js';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { ApiClient } from '../apiserver/client.js';
import { ruleDef } from '../kinds/rule.js';
import type { Counters } from './counters.js';
import type { RuleState } from './routes.js';

export interface StatusDeps {
  client: ApiClient;
  rules: () => KubeObject[];
  states: () => ReadonlyMap<string, RuleState>;
  pending: (uid: string) => number;
  counters: Counters;
  log: Logger;
  now: () => Date;
}

interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export function ruleStatus(old: Record<string, unknown> | undefined, state: RuleState | undefined, counts: ReturnType<Counters['rule']>, pending: number, now: Date): Record<string, unknown> {
  const prev = ((old?.conditions as Condition[] | undefined) ?? []).find((c) => c.type === 'Ready');
  const status: Condition['status'] = state ? (state.ready ? 'True' : 'False') : 'Unknown';
  const reason = state?.reason ?? 'Pending';
  const ready: Condition = {
    type: 'Ready',
    status,
    reason,
    message: state?.message ?? 'not compiled yet',
    lastTransitionTime: prev && prev.status === status && prev.reason === reason && prev.lastTransitionTime ? prev.lastTransitionTime : now.toISOString(),
  };
  return {
    successMessages: counts.successMessages,
    failMessages: counts.failMessages,
    ...(counts.errors.length ? { errors: counts.errors } : {}),
    messages: counts.messages,
    bytes: counts.bytes,
    drops: counts.drops,
    ...(Object.keys(counts.dropped).length ? { dropped: counts.dropped } : {}),
    pending,
    ...(counts.lastMessageTime ? { lastMessageTime: counts.lastMessageTime } : {}),
    conditions: [ready],
  };
}

export class RuleStatusWriter {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private readonly written = new Map<string, string>();

  constructor(private readonly d: StatusDeps) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.tick(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Write what changed now (tests, stop). */
  async tick(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.write().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async write(): Promise<void> {
    const states = this.d.states();
    for (const r of this.d.rules()) {
      const uid = r.metadata.uid ?? '';
      const old = (r.status ?? undefined) as Record<string, unknown> | undefined;
      const next = ruleStatus(old, states.get(uid), this.d.counters.rule(uid), this.d.pending(uid), this.d.now());
      const text = stableStringify(next);
      if (this.written.get(uid) === text || stableStringify(old ?? {}) === text) continue;
      try {
        await this.d.client.patch(ruleDef, r.metadata.namespace, r.metadata.name ?? '', 'merge', { status: next }, { subresource: 'status' });
        this.written.set(uid, text);
      } catch (e) {
        if ((e as { code?: number }).code !== 404) this.d.log.warn('rule status not written', { rule: `${r.metadata.namespace}/${r.metadata.name}`, error: errorMessage(e) });
      }
    }
  }
}
