/**
 * Connections to peer nodes' meshes. One HTTP/2 session per peer, over TLS 1.3 with both sides
 * authenticated by the key hash the relay publishes for each node (identity.ts); each proxied
 * connection is one HTTP/2 CONNECT stream on it (RFC 9113 §8.5), so a new connection to a peer
 * costs one round trip, not a handshake, and HTTP/2 flow control keeps one stream from starving
 * the others.
 *
 * The path to a peer: directly (TCP to its addresses on its mesh port) when that works within
 * `directTimeoutMs`; otherwise through the relay — a byte tunnel of two spliced stream sessions
 * (the relay carries only TLS records: it can neither read nor forge what passes). A peer
 * reached through the relay is tried directly again every `retryDirectSeconds`; when that
 * works, new connections go direct and the relayed session is closed once its streams end.
 * Sessions are checked with HTTP/2 PINGs and dropped when they stop answering.
 */
import { connect as http2Connect, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { connect as tcpConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { Logger } from '../../core/logger.js';
import { peerKeySha256, type MeshIdentity } from './identity.js';
import type { PeerInfo } from './table.js';

export type PeerPath = 'direct' | 'relay';

/** HTTP/2 settings both ends use: windows large enough for a LAN's bandwidth-delay product. */
export const H2_SETTINGS = { initialWindowSize: 4 * 1024 * 1024, maxFrameSize: 64 * 1024, enablePush: false } as const;
export const H2_SESSION_WINDOW = 16 * 1024 * 1024;
/** Request header naming the transport of a CONNECT: `udp` carries datagrams with a 2-byte length before each. */
export const PROTOCOL_HEADER = 'edgecore-mesh-protocol';

export interface PeersDeps {
  identity: MeshIdentity;
  peer(name: string): PeerInfo | undefined;
  /** the mesh port of a peer that did not publish one */
  defaultPort: number;
  /** a raw byte tunnel through the relay to the peer's mesh (rejects when the relay is away); absent: direct only, every dial tries directly */
  relay?: (peer: string) => Promise<Duplex>;
  /** peers never dialled directly (configured: another site, a known NAT): always through the relay */
  relayOnly?(peer: string): boolean;
  /** this node's own addresses: a peer's address that is also one of ours (a Docker bridge, a ClusterIP) is not the peer */
  localAddresses(): Set<string>;
  log: Logger;
  directTimeoutMs: number;
  retryDirectSeconds: number;
  pingSeconds: number;
  now?: () => number;
}

interface Link {
  session: ClientHttp2Session;
  path: PeerPath;
  since: number;
  timer: NodeJS.Timeout;
}

export class PeerError extends Error {
  constructor(
    message: string,
    /** the peer answered: the endpoint refused or could not be reached (try another endpoint) */
    readonly endpoint = false,
  ) {
    super(message);
    this.name = 'PeerError';
  }
}

export class Peers {
  private readonly links = new Map<string, Link>();
  private readonly dialing = new Map<string, Promise<Link>>();
  private readonly directFailed = new Map<string, number>();
  private readonly probing = new Set<string>();
  private closed = false;
  private readonly now: () => number;
  readonly counters = { direct: 0, relay: 0, streams: 0, failedDirect: 0 };

  constructor(private readonly d: PeersDeps) {
    this.now = d.now ?? Date.now;
  }

  /** Is `peer` reached directly right now (PreferClose)? */
  isDirect(peer: string): boolean {
    return this.links.get(peer)?.path === 'direct';
  }

  /** The path each connected peer is on. */
  paths(): Record<string, PeerPath> {
    return Object.fromEntries([...this.links].map(([k, v]) => [k, v.path]));
  }

  /** A byte stream to `host:port` on `peer` (a CONNECT stream), and the path it took. */
  async open(peer: string, host: string, port: number, protocol: 'tcp' | 'udp' = 'tcp'): Promise<{ stream: ClientHttp2Stream; path: PeerPath }> {
    const link = await this.link(peer);
    const stream = link.session.request({ ':method': 'CONNECT', ':authority': `${host}:${port}`, ...(protocol === 'udp' ? { [PROTOCOL_HEADER]: 'udp' } : {}) }, { endStream: false });
    this.counters.streams++;
    await new Promise<void>((resolve, reject) => {
      const fail = (e: Error): void => reject(new PeerError(`${peer}: ${e.message}`));
      stream.once('response', (h) => {
        stream.off('error', fail);
        const status = Number(h[':status']);
        if (status === 200) return resolve();
        stream.destroy();
        reject(new PeerError(`${peer} could not reach ${host}:${port} (${status})`, true));
      });
      stream.once('error', fail);
    });
    return { stream, path: link.path };
  }

  private async link(peer: string): Promise<Link> {
    const cur = this.links.get(peer);
    if (cur && !cur.session.closed && !cur.session.destroyed) {
      if (cur.path === 'relay' && this.now() - cur.since > this.d.retryDirectSeconds * 1000) this.probeDirect(peer);
      return cur;
    }
    let p = this.dialing.get(peer);
    if (!p) {
      p = this.dial(peer).finally(() => this.dialing.delete(peer));
      this.dialing.set(peer, p);
    }
    return p;
  }

  private async dial(peer: string): Promise<Link> {
    const info = this.d.peer(peer);
    if (!info) throw new PeerError(`no such peer node "${peer}"`);
    if (!info.keySha256) throw new PeerError(`peer node "${peer}" has no mesh key yet (it has not reported one)`);
    const failedAt = this.directFailed.get(peer);
    if (this.d.relay && this.d.relayOnly?.(peer)) return this.keep(peer, await this.viaRelay(info), 'relay');
    if (!this.d.relay || failedAt === undefined || this.now() - failedAt > this.d.retryDirectSeconds * 1000) {
      try {
        return this.keep(peer, await this.direct(info), 'direct');
      } catch (e) {
        this.counters.failedDirect++;
        // a wrong key is worth a warning: someone else answers at the peer's address
        this.d.log[e instanceof PeerError ? 'warn' : 'debug']('peer not reachable directly', { peer, error: (e as Error).message, relay: !!this.d.relay });
        if (!this.d.relay) throw new PeerError(`peer node "${peer}" not reachable directly: ${(e as Error).message}`);
        this.directFailed.set(peer, this.now());
      }
    }
    return this.keep(peer, await this.viaRelay(info), 'relay');
  }

  /** Try `peer` directly in the background; on success new connections go direct. */
  private probeDirect(peer: string): void {
    if (this.probing.has(peer) || this.closed || this.d.relayOnly?.(peer)) return;
    const info = this.d.peer(peer);
    if (!info?.keySha256) return;
    this.probing.add(peer);
    this.direct(info)
      .then((session) => {
        const old = this.links.get(peer);
        this.keep(peer, session, 'direct');
        this.directFailed.delete(peer);
        if (old) {
          clearInterval(old.timer);
          old.session.close();
        }
        this.d.log.info('peer reached directly again', { peer });
      })
      .catch(() => {
        this.directFailed.set(peer, this.now());
        const l = this.links.get(peer);
        if (l) l.since = this.now();
      })
      .finally(() => this.probing.delete(peer));
  }

  private keep(peer: string, session: ClientHttp2Session, path: PeerPath): Link {
    if (this.closed) {
      session.destroy();
      throw new PeerError('mesh stopping');
    }
    this.counters[path]++;
    const timer = setInterval(() => {
      const t = setTimeout(() => session.destroy(new Error('PING not answered')), Math.max(2000, this.d.pingSeconds * 500));
      t.unref();
      if (!session.ping((err) => (clearTimeout(t), err && session.destroy(err)))) clearTimeout(t);
    }, this.d.pingSeconds * 1000);
    timer.unref();
    const link: Link = { session, path, since: this.now(), timer };
    this.links.set(peer, link);
    const gone = (): void => {
      clearInterval(timer);
      if (this.links.get(peer) === link) this.links.delete(peer);
    };
    session.once('close', gone);
    session.once('error', (e: Error) => {
      this.d.log.debug('peer session failed', { peer, path, error: e.message });
      gone();
    });
    session.on('goaway', gone);
    this.d.log.info('peer connected', { peer, path });
    return link;
  }

  private async direct(info: PeerInfo): Promise<ClientHttp2Session> {
    const port = info.port ?? this.d.defaultPort;
    const mine = this.d.localAddresses();
    let last: Error = new Error(`peer node "${info.name}" has no address that is not also this node's`);
    for (const host of info.addresses.filter((a) => !mine.has(a))) {
      try {
        const sock = await this.tcp(host, port);
        return await this.secure(info, sock);
      } catch (e) {
        last = e as Error;
      }
    }
    throw last;
  }

  private tcp(host: string, port: number): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = tcpConnect({ host, port, allowHalfOpen: true, noDelay: true });
      const t = setTimeout(() => {
        s.destroy();
        reject(new Error(`${host}:${port}: no answer within ${this.d.directTimeoutMs} ms`));
      }, this.d.directTimeoutMs);
      s.once('connect', () => {
        clearTimeout(t);
        s.setKeepAlive(true, 10_000);
        resolve(s);
      });
      s.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
  }

  private async viaRelay(info: PeerInfo): Promise<ClientHttp2Session> {
    if (!this.d.relay) throw new PeerError(`peer node "${info.name}": no path through the relay`);
    return this.secure(info, await this.d.relay(info.name));
  }

  /** TLS over `raw`, the server's key checked against the peer's published one, then HTTP/2. */
  private secure(info: PeerInfo, raw: Duplex): Promise<ClientHttp2Session> {
    return new Promise((resolve, reject) => {
      const tls: TLSSocket = tlsConnect({
        socket: raw as Socket,
        key: this.d.identity.key,
        cert: this.d.identity.cert,
        rejectUnauthorized: false,
        ALPNProtocols: ['h2'],
        minVersion: 'TLSv1.3',
      });
      const t = setTimeout(() => tls.destroy(new Error('TLS handshake timed out')), 10_000);
      tls.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
      tls.once('secureConnect', () => {
        clearTimeout(t);
        const got = peerKeySha256(tls.getPeerX509Certificate());
        if (got !== info.keySha256) {
          tls.destroy();
          return reject(new PeerError(`peer node "${info.name}" presented key ${got ?? 'none'}, not the one the relay publishes for it`));
        }
        const session = http2Connect(`https://${info.name}`, { createConnection: () => tls, settings: H2_SETTINGS, maxSessionMemory: 64 });
        session.once('connect', () => session.setLocalWindowSize(H2_SESSION_WINDOW));
        session.on('error', () => undefined);
        resolve(session);
      });
    });
  }

  close(): void {
    this.closed = true;
    for (const l of this.links.values()) {
      clearInterval(l.timer);
      l.session.destroy();
    }
    this.links.clear();
  }
}
