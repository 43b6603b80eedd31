/**
 * What the relay hears of each node's link, on its own clock: presence (birth / Last Will), the
 * last time anything arrived (heartbeats and every other message), and the node's own word on
 * whether it can run pods and on its conditions (from its status report). Kept in memory — the
 * Node objects' conditions (lastHeartbeatTime) carry it across a relay restart — and handed to
 * the node-lifecycle controller, which is told when something worth a look changed: presence,
 * the first contact, contact after a silence, what the node says about itself, or a heartbeat
 * old enough that the condition's lastHeartbeatTime is due.
 */
import { stableStringify } from '../../lib/json.js';
import type { NodeCondition, NodeRuntime } from '../../contract/node-status.js';
import type { LivenessSource, NodeLivenessView } from '../controllers/node-lifecycle.js';

interface State {
  online: boolean;
  /** when a connected node's presence went false (its grace starts) */
  offlineSince?: Date;
  lastHeartbeat?: Date;
  runtime?: NodeRuntime;
  conditions?: NodeCondition[];
  /** when the controller was last told about this node (ms) */
  told: number;
}

export interface LivenessParams {
  notReadyAfterSeconds: number;
  heartbeatWriteSeconds: number;
}

export class Liveness implements LivenessSource {
  private readonly nodes = new Map<string, State>();
  private readonly listeners: ((node: string) => void)[] = [];

  /** when this relay started to listen (start()): absent, a node never heard is Unknown at once */
  private since?: Date;

  constructor(
    private readonly params: LivenessParams,
    private readonly now: () => Date,
  ) {}

  /** The relay listens from now on: nodes it has not heard yet are judged offline since now. */
  start(): void {
    this.since = this.now();
  }

  onChange(listener: (node: string) => void): void {
    this.listeners.push(listener);
  }

  /**
   * A node not heard since this relay started is offline since the start, not since the moment it
   * was last seen: it gets its whole grace from the start (Kubernetes' node lifecycle controller
   * stamps a node it first observes with its own clock). A restarted relay then writes no Node
   * Unknown, and back Ready, for every node that reconnects within the grace — before, a storm
   * after a restart was four Node writes per node.
   */
  get(node: string): NodeLivenessView {
    const s = this.nodes.get(node);
    if (!s) return { online: false, ...(this.since ? { offlineSince: this.since, sinceStart: true } : {}) };
    return {
      online: s.online,
      ...(s.offlineSince ? { offlineSince: s.offlineSince } : {}),
      ...(s.lastHeartbeat ? { lastHeartbeat: s.lastHeartbeat } : {}),
      ...(s.runtime ? { runtime: s.runtime } : {}),
      ...(s.conditions ? { conditions: s.conditions } : {}),
    };
  }

  private state(node: string): State {
    let s = this.nodes.get(node);
    if (!s) this.nodes.set(node, (s = { online: false, told: 0 }));
    return s;
  }

  private tell(node: string, s: State): void {
    s.told = this.now().getTime();
    for (const l of this.listeners) l(node);
  }

  /** The node's presence message (or its Last Will). */
  presence(node: string, online: boolean): void {
    const s = this.state(node);
    const changed = s.online !== online;
    s.online = online;
    if (online) {
      s.lastHeartbeat = this.now();
      s.offlineSince = undefined;
    } else if (changed) s.offlineSince = this.now();
    if (changed) this.tell(node, s);
  }

  /** Anything arrived from the node: a heartbeat, a report, a sync request. */
  heard(node: string): void {
    const s = this.state(node);
    const now = this.now();
    const prev = s.lastHeartbeat;
    s.lastHeartbeat = now;
    // a message proves the session is up even if the presence birth was missed (relay restarted)
    const wasOffline = !s.online;
    s.online = true;
    s.offlineSince = undefined;
    const stale = !prev || now.getTime() - prev.getTime() > this.params.notReadyAfterSeconds * 1000;
    const due = now.getTime() - s.told >= this.params.heartbeatWriteSeconds * 1000;
    if (wasOffline || stale || due) this.tell(node, s);
  }

  /** What the node says about itself in its status report. */
  reported(node: string, r: { runtime?: NodeRuntime; conditions?: NodeCondition[] }): void {
    const s = this.state(node);
    const before = stableStringify({ runtime: s.runtime, conditions: s.conditions });
    s.runtime = r.runtime;
    s.conditions = r.conditions;
    if (stableStringify({ runtime: s.runtime, conditions: s.conditions }) !== before) this.tell(node, s);
  }

  forget(node: string): void {
    this.nodes.delete(node);
  }
}
