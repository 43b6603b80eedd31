/**
 * This node's side of peer connections: a TLS 1.3 + HTTP/2 server on the mesh port (peers
 * that reach it directly) that also takes byte tunnels from the relay (peers behind other NATs).
 * The client must present a key the relay publishes for some node, or the connection ends; a
 * CONNECT stream may only reach an endpoint that runs on this node (a local address and port of
 * some Service's endpoints) — a peer cannot use this node to reach anything else on its network.
 */
import { createSecureServer, type Http2SecureServer, type Http2Session, type ServerHttp2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../../core/logger.js';
import { peerKeySha256, type MeshIdentity } from './identity.js';
import { dialTcp } from './dial.js';
import { H2_SESSION_WINDOW, H2_SETTINGS, PROTOCOL_HEADER } from './peers.js';
import { join } from './pipe.js';
import { relayDatagrams } from './udp.js';

export interface PeerServerDeps {
  identity: MeshIdentity;
  /** the node whose published key this is, or undefined */
  peerByKey(keySha256: string): string | undefined;
  /** is host:port (protocol) an endpoint running on this node? */
  allowed(host: string, port: number, protocol: 'TCP' | 'UDP'): boolean;
  connectTimeoutMs: number;
  udpIdleMs: number;
  /** CONNECT streams one peer session may have open at once (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS) */
  maxStreams?: number;
  log: Logger;
}

export function parseAuthority(a: string | undefined): { host: string; port: number } | undefined {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(a ?? '');
  const port = m ? Number(m[2]) : 0;
  return m && port > 0 && port < 65536 ? { host: m[1]!, port } : undefined;
}

export class PeerServer {
  private readonly server: Http2SecureServer;
  private readonly peers = new WeakMap<Http2Session, string>();
  private readonly sessions = new Set<Http2Session>();
  readonly counters = { sessions: 0, streams: 0, refused: 0, unknownKeys: 0, bytesIn: 0, bytesOut: 0 };

  constructor(private readonly d: PeerServerDeps) {
    this.server = createSecureServer({
      key: d.identity.key,
      cert: d.identity.cert,
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.3',
      settings: { ...H2_SETTINGS, maxConcurrentStreams: d.maxStreams ?? 256 },
      maxSessionMemory: 64,
    });
    this.server.on('session', (s) => this.onSession(s));
    this.server.on('stream', (stream, headers) => this.onStream(stream, headers));
    this.server.on('tlsClientError', () => undefined);
    this.server.on('sessionError', () => undefined);
  }

  private onSession(session: Http2Session): void {
    const sock = session.socket as TLSSocket;
    const key = peerKeySha256(sock.getPeerX509Certificate?.());
    const peer = key ? this.d.peerByKey(key) : undefined;
    if (!peer) {
      this.counters.unknownKeys++;
      this.d.log.warn('peer connection with an unknown key refused', { remote: sock.remoteAddress, key: key ?? 'none' });
      session.destroy();
      return;
    }
    this.counters.sessions++;
    this.peers.set(session, peer);
    this.sessions.add(session);
    session.once('close', () => this.sessions.delete(session));
    session.on('error', () => undefined);
    session.setLocalWindowSize(H2_SESSION_WINDOW);
  }

  private onStream(stream: ServerHttp2Stream, headers: Record<string, string | string[] | undefined>): void {
    const peer = this.peers.get(stream.session!);
    stream.on('error', () => undefined);
    if (!peer) return void stream.close();
    const target = parseAuthority(headers[':authority'] as string | undefined);
    const udp = headers[PROTOCOL_HEADER] === 'udp';
    if (headers[':method'] !== 'CONNECT' || !target) {
      this.counters.refused++;
      stream.respond({ ':status': 400 }, { endStream: true });
      return;
    }
    if (!this.d.allowed(target.host, target.port, udp ? 'UDP' : 'TCP')) {
      this.counters.refused++;
      this.d.log.warn('peer asked for an address that is no endpoint here', { peer, target: `${target.host}:${target.port}`, udp });
      stream.respond({ ':status': 403 }, { endStream: true });
      return;
    }
    this.counters.streams++;
    if (udp) {
      stream.respond({ ':status': 200 });
      relayDatagrams(stream, target.host, target.port, this.d.udpIdleMs);
      return;
    }
    dialTcp(target.host, target.port, this.d.connectTimeoutMs).then(
      (sock) => {
        if (stream.destroyed) return void sock.destroy();
        stream.respond({ ':status': 200 });
        const j = join(stream, sock);
        void j.done.then(() => {
          this.counters.bytesIn += j.bytes.ab;
          this.counters.bytesOut += j.bytes.ba;
        });
      },
      () => {
        if (!stream.destroyed) stream.respond({ ':status': 502 }, { endStream: true });
      },
    );
  }

  /** Listen for peers that reach this node directly; resolves with the port. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as { port: number }).port);
      });
    });
  }

  /** A peer's connection that came through the relay (a tunnel session's bytes). */
  accept(raw: Duplex): void {
    this.server.emit('connection', raw);
  }

  get openSessions(): number {
    return this.sessions.size;
  }

  async close(): Promise<void> {
    for (const s of this.sessions) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
