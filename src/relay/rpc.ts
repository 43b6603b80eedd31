/**
 * Calls from the relay to a node (logs, twin get/set) over `rpc/request` / `rpc/response`.
 * A call is a stream of chunks ending with `done`; a silent node ends it with a timeout. Failures
 * are WireErrors with the contract's codes (a node's own, or Timeout / Unavailable).
 */
import { randomUUID } from 'node:crypto';
import { WireError } from '../contract/errors.js';
import type { RpcMethod, RpcRequest, RpcResponse } from '../contract/payloads.js';
import { topics } from '../contract/topics.js';
import type { RelayTransport } from './broker/transport.js';

export interface RpcCall {
  id: string;
  /** resolves when the node sends `done` (rejects on a node error or timeout) */
  done: Promise<void>;
  cancel(): void;
}

interface Pending {
  node: string;
  onChunk: (data: unknown) => void;
  resolve: () => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
  idleMs: number;
  next: number;
  early: Map<number, RpcResponse>;
}

export class RpcRouter {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly transport: RelayTransport) {}

  /**
   * Start a call. `idleMs` bounds the silence between chunks (0 = no bound, for `logs -f`).
   * `firstMs` bounds the wait for the first chunk (the node may be offline).
   */
  call(node: string, method: RpcMethod, params: Record<string, unknown>, onChunk: (data: unknown) => void, opts: { firstMs: number; idleMs: number }): RpcCall {
    const id = randomUUID();
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const p: Pending = { node, onChunk, resolve, reject, idleMs: opts.idleMs, next: 0, early: new Map() };
    this.pending.set(id, p);
    this.arm(id, p, opts.firstMs);
    const req: RpcRequest = { id, method, params, deadline: Date.now() + Math.max(opts.firstMs, 1000) };
    this.transport.publish(topics.rpcRequest(node), JSON.stringify(req), { qos: 1, retain: false }).catch((e: Error) => this.finish(id, e));
    return {
      id,
      done,
      cancel: () => {
        if (!this.pending.has(id)) return;
        this.finish(id);
        this.transport.publish(topics.rpcRequest(node), JSON.stringify({ id, cancel: true }), { qos: 1, retain: false }).catch(() => undefined);
      },
    };
  }

  private arm(id: string, p: Pending, ms: number): void {
    clearTimeout(p.timer);
    if (ms > 0) p.timer = setTimeout(() => this.finish(id, new WireError('Timeout', `node ${p.node} did not answer in ${ms} ms (offline?)`)), ms);
  }

  private finish(id: string, err?: Error): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (err) p.reject(err);
    else p.resolve();
  }

  /** A response from `node`, parsed at the edge (sync.ts); only that node's answers count. */
  handle(node: string, r: RpcResponse): void {
    const p = this.pending.get(r.id);
    if (!p || p.node !== node) return;
    p.early.set(r.n, r);
    // chunks are QoS1 over one session: in order, but a resend may duplicate one
    while (p.early.has(p.next)) {
      const c = p.early.get(p.next)!;
      p.early.delete(p.next);
      p.next++;
      if (c.error) return this.finish(r.id, new WireError(c.error.code, c.error.message, c.error.issues));
      if (c.data !== undefined) p.onChunk(c.data);
      if (c.done) return this.finish(r.id);
    }
    this.arm(r.id, p, p.idleMs);
  }

  closeAll(): void {
    for (const id of [...this.pending.keys()]) this.finish(id, new WireError('Unavailable', 'relay stopping'));
  }
}
