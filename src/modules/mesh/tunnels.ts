/**
 * The mesh's end of tunnels through the relay (contract: mesh.ts, streams.ts; docs/mesh.md). A
 * tunnel is a stream session of kind `tunnel` the relay opens on this node; edgehub carries its
 * bytes with the stream contract's credit and hands it here (`mesh.stream`). Three sorts:
 *
 * - `id`: the answer to this node's own request (`request`): its bytes become the stream the
 *   waiting dial gets (to a peer: the TLS connection to that peer's mesh, end to end); with
 *   `refused` the request fails at once with the relay's reason;
 * - `peer`: a peer's connection through the relay: handed to the peer server like an accepted
 *   TCP connection (it authenticates the peer by its key, exactly as a direct one);
 * - `target`: bytes from the relay's side (a cloud client of a LoadBalancer Service) for a
 *   local endpoint: dialled only if it is an endpoint of some Service running on this node.
 *
 * Half-close both ways: this side's end of output goes up as EOF (the relay passes it on), the
 * relay's EOF ends this side's input; the session ends (EXIT) once both directions are done.
 */
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { TunnelRequest } from '../../contract/mesh.js';
import type { ExitStatus, OpenRequest } from '../../contract/streams.js';
import type { Logger } from '../../core/logger.js';
import type { ByteSession, OpenResult } from '../../node/sessions.js';
import { dialTcp } from './dial.js';
import { duplexPair, join } from './pipe.js';

export interface TunnelDeps {
  /** publish the request on the node's mesh/request topic (rejects when the relay is not connected) */
  send(req: TunnelRequest): Promise<void>;
  /** a peer's connection, for the peer server */
  acceptPeer(raw: Duplex): void;
  /** is host:port (TCP) an endpoint running on this node? */
  local(host: string, port: number): boolean;
  connectTimeoutMs: number;
  /** how long the relay may take to open the session of a request */
  answerTimeoutMs: number;
  log: Logger;
}

/** A tunnel session's bytes as edgehub's stream transport reads and writes them. */
export function byteSession(wire: Duplex): ByteSession {
  // both directions done (the wire closes once its input ended and its output was read to the end)
  const exit = new Promise<ExitStatus>((resolve) => wire.once('close', () => resolve({})));
  wire.on('error', () => undefined);
  return { stdout: wire, stdin: wire, tty: false, exit, close: async () => void wire.destroy() };
}

export class Tunnels {
  private readonly waiting = new Map<string, { resolve: (d: Duplex) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  readonly counters = { requested: 0, answered: 0, peers: 0, targets: 0, refused: 0, timedOut: 0 };

  constructor(private readonly d: TunnelDeps) {}

  /** A byte stream through the relay: to a peer's mesh, or to a cloud endpoint of a Service the relay dials. */
  async request(what: { peer: string } | { target: NonNullable<TunnelRequest['target']> }): Promise<Duplex> {
    const id = randomBytes(16).toString('hex');
    this.counters.requested++;
    const answered = new Promise<Duplex>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        this.counters.timedOut++;
        reject(new Error(`the relay did not open tunnel ${id} within ${this.d.answerTimeoutMs} ms`));
      }, this.d.answerTimeoutMs);
      timer.unref();
      this.waiting.set(id, { resolve, reject, timer });
    });
    answered.catch(() => undefined);
    try {
      await this.d.send({ id, ...what });
    } catch (e) {
      this.settle(id)?.reject(e as Error);
    }
    return answered;
  }

  private settle(id: string): { resolve: (d: Duplex) => void; reject: (e: Error) => void } | undefined {
    const w = this.waiting.get(id);
    if (!w) return undefined;
    this.waiting.delete(id);
    clearTimeout(w.timer);
    return w;
  }

  /** A tunnel session the relay opened on this node (edgehub's `mesh.stream`). */
  async open(req: OpenRequest): Promise<OpenResult> {
    const t = req.tunnel;
    if (req.kind !== 'tunnel' || !t) return { error: { code: 'Invalid', message: 'not a tunnel session' } };
    if (t.id) {
      const w = this.settle(t.id);
      if (!w) return { error: { code: 'NotFound', message: `no tunnel request ${t.id} is waiting here` } };
      if (t.refused !== undefined) {
        this.counters.refused++;
        w.reject(new Error(`the relay refused the tunnel: ${t.refused}`));
        return { error: { code: 'Conflict', message: 'refusal taken' } };
      }
      const [wire, mine] = duplexPair();
      this.counters.answered++;
      w.resolve(mine);
      return { session: byteSession(wire) };
    }
    if (t.peer) {
      const [wire, mine] = duplexPair();
      this.counters.peers++;
      this.d.acceptPeer(mine);
      return { session: byteSession(wire) };
    }
    const target = t.target!;
    if (!this.d.local(target.host, target.port)) {
      this.counters.refused++;
      this.d.log.warn('relay tunnel to an address that is no endpoint here refused', { target });
      return { error: { code: 'Invalid', message: `${target.host}:${target.port} is not an endpoint on this node` } };
    }
    try {
      const sock = await dialTcp(target.host, target.port, this.d.connectTimeoutMs);
      const [wire, mine] = duplexPair();
      join(mine, sock);
      this.counters.targets++;
      return { session: byteSession(wire) };
    } catch (e) {
      return { error: { code: 'Unavailable', message: `${target.host}:${target.port}: ${(e as Error).message}` } };
    }
  }

  /** Every waiting request fails (the module stops). */
  failAll(reason: string): void {
    for (const id of [...this.waiting.keys()]) this.settle(id)?.reject(new Error(reason));
  }
}
