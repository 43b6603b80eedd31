/**
 * Mesh tunnels through the relay (docs/mesh.md; contract: mesh.ts, streams.ts). A node asks on
 * its `mesh/request` topic; the relay decides (tunnel-plan.ts) and then:
 *
 * - peer: opens a `tunnel` session on the peer (`{peer: asker}`), and once the peer took it one on
 *   the asker (`{id}`), and splices them (node-streams.ts `splice`): the bytes are the two nodes'
 *   own TLS session, end to end — the relay neither reads nor forges them;
 * - cloud: dials the cloud endpoint itself (TCP) and joins the socket to a session on the asker;
 * - refuse: opens `{id, refused}` on the asker, which fails its request at once.
 *
 * Bounds: per asking node at most TUNNEL_LIMITS.maxRequestsPerSecond requests (more are dropped
 * unanswered) and maxPerNode tunnels open or being opened (more are refused before the store is
 * read); each
 * session's bytes on the relay are bounded by its windows (NodeStreams), so one node can make the
 * relay hold at most maxPerNode × 2 sessions × 2 windows.
 */
import { connect, type Socket } from 'node:net';
import { TUNNEL_LIMITS, type TunnelRequest } from '../../contract/mesh.js';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { ObjectStore } from '../store/objects.js';
import { splice, type NodeStreams, type RelaySession } from './node-streams.js';
import { factsNeeded, parseTunnelRequest, planTunnel, type SliceFacts } from './tunnel-plan.js';

const SLICES = { group: 'discovery.k8s.io', resource: 'endpointslices' };

export interface RelayTunnelsDeps {
  streams: NodeStreams;
  objects: Pick<ObjectStore, 'get' | 'list'>;
  log: Logger;
  maxPerNode?: number;
  maxRequestsPerSecond?: number;
  now?: () => number;
  /** how long a dial to a cloud endpoint may take */
  connectTimeoutMs?: number;
}

export class RelayTunnels {
  private readonly active = new Map<string, number>();
  /** requests per node in the current second */
  private readonly rate = new Map<string, { second: number; n: number }>();
  readonly counters = { requested: 0, peer: 0, cloud: 0, refused: 0, dropped: 0, limited: 0, failed: 0 };
  private readonly maxPerNode: number;
  private readonly now: () => number;

  constructor(private readonly d: RelayTunnelsDeps) {
    this.maxPerNode = d.maxPerNode ?? TUNNEL_LIMITS.maxPerNode;
    this.now = d.now ?? Date.now;
  }

  /** false when `node` asked more often than its rate this second (the request is dropped unanswered) */
  private admit(node: string): boolean {
    const second = Math.floor(this.now() / 1000);
    const r = this.rate.get(node);
    if (!r || r.second !== second) {
      if (this.rate.size > 10_000) this.rate.clear();
      this.rate.set(node, { second, n: 1 });
      return true;
    }
    return ++r.n <= (this.d.maxRequestsPerSecond ?? TUNNEL_LIMITS.maxRequestsPerSecond);
  }

  /** Tunnels open or being opened, per asking node. */
  open(): Record<string, number> {
    return Object.fromEntries(this.active);
  }

  /** One payload from a node's `mesh/request` (size already checked by the caller). */
  async request(node: string, payload: Buffer): Promise<void> {
    this.counters.requested++;
    if (!this.admit(node)) {
      this.counters.limited++;
      return;
    }
    const parsed = parseTunnelRequest(payload);
    if (!parsed.ok) {
      this.counters.dropped++;
      this.d.log.warn('tunnel request dropped', { node, reason: parsed.reason });
      return;
    }
    const req = parsed.request;
    const active = this.active.get(node) ?? 0;
    // over the limit: refused before the store is read (a flooding node costs no reads)
    if (active >= this.maxPerNode) return this.refuse(node, req.id, `node "${node}" has ${active} tunnels open (limit ${this.maxPerNode})`);
    this.take(node, +1);
    try {
      const plan = planTunnel(node, req, { ...(await this.facts(req)), active, maxPerNode: this.maxPerNode });
      if (plan.action === 'refuse') return this.refuse(node, plan.id, plan.reason);
      if (plan.action === 'drop') return;
      if (plan.action === 'peer') await this.peer(node, plan.id, plan.peer);
      else await this.cloud(node, plan.id, plan.host, plan.port);
    } catch (e) {
      this.counters.failed++;
      this.d.log.warn('tunnel failed', { node, request: req.id, error: errorMessage(e) });
    } finally {
      this.take(node, -1);
    }
  }

  private take(node: string, n: number): void {
    const v = (this.active.get(node) ?? 0) + n;
    if (v > 0) this.active.set(node, v);
    else this.active.delete(node);
  }

  private async facts(req: TunnelRequest): Promise<{ peerNode?: { metadata?: { annotations?: Record<string, string> } }; slices: SliceFacts[] }> {
    const need = factsNeeded(req);
    const slices = (await this.d.objects.list(need.service ? { ...SLICES, namespace: need.service.namespace } : SLICES)).items as SliceFacts[];
    if (!need.peer) return { slices };
    const peerNode = (await this.d.objects.get({ group: '', resource: 'nodes', namespace: '', name: need.peer })) as { metadata?: { annotations?: Record<string, string> } } | undefined;
    return { peerNode, slices };
  }

  private refuse(node: string, id: string, reason: string): void {
    this.counters.refused++;
    this.d.log.info('tunnel refused', { node, request: id, reason });
    const s = this.d.streams.open(node, { kind: 'tunnel', tunnel: { id, refused: reason } });
    s.ready.then(() => s.close(reason)).catch(() => undefined);
  }

  /** The peer's session first (so a peer that is away is a clean refusal), then the asker's; spliced until both end. */
  private async peer(node: string, id: string, peer: string): Promise<void> {
    const b = this.d.streams.open(peer, { kind: 'tunnel', tunnel: { peer: node } });
    try {
      await b.ready;
    } catch (e) {
      return this.refuse(node, id, `node "${peer}" did not take the tunnel: ${errorMessage(e)}`);
    }
    const a = this.d.streams.open(node, { kind: 'tunnel', tunnel: { id } });
    try {
      await a.ready;
    } catch (e) {
      b.close('the asking node went away');
      throw e;
    }
    this.counters.peer++;
    this.d.log.info('tunnel open', { node, peer, request: id });
    splice(a, b);
    await Promise.all([a.exit, b.exit]);
  }

  /** A cloud endpoint: the relay dials it and joins the socket to a session on the asker. */
  private async cloud(node: string, id: string, host: string, port: number): Promise<void> {
    let sock: Socket;
    try {
      sock = await dial(host, port, this.d.connectTimeoutMs ?? 3000);
    } catch (e) {
      return this.refuse(node, id, `${host}:${port}: ${errorMessage(e)}`);
    }
    const a = this.d.streams.open(node, { kind: 'tunnel', tunnel: { id } });
    try {
      await a.ready;
    } catch (e) {
      sock.destroy();
      throw e;
    }
    this.counters.cloud++;
    joinSocket(a, sock);
    await a.exit;
  }
}

export function dial(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port, allowHalfOpen: true, noDelay: true });
    const t = setTimeout(() => s.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

/**
 * A socket and a session as one byte pipe: the session's output is written to the socket and
 * acknowledged (credit back to the node) once the socket took it; the socket's bytes go in as
 * input, the socket paused while a window's worth waits. The socket's end is the session's EOF;
 * the session's end (EXIT or RESET) ends the socket.
 */
export function joinSocket(s: RelaySession, sock: Socket): void {
  sock.on('error', () => undefined);
  s.onData((_ch, d) => {
    if (sock.destroyed) return s.ack(d.length);
    sock.write(d, () => s.ack(d.length));
  });
  sock.on('data', (d: Buffer) => {
    if (!s.write(d)) {
      sock.pause();
      s.onDrain(() => sock.resume());
    }
  });
  sock.once('end', () => s.end());
  s.onEnd(() => sock.end());
  sock.once('close', () => s.close('the other side closed'));
  void s.exit.then((exit) => (exit.error ? sock.destroy() : sock.end()));
}
