/**
 * The node's DNS server for pods, on UDP and TCP at the cluster DNS address: cluster names are
 * answered from the mesh table (dns-answer.ts), an ExternalName's target is chased upstream,
 * everything else is forwarded to the node's own resolvers (upstream.ts). Messages are encoded
 * and decoded by dns-packet; a malformed query is dropped (UDP) or ends the connection (TCP).
 * A UDP answer larger than the client can take comes back truncated (TC), so the client asks
 * again over TCP.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import * as dns from 'dns-packet';
import type { Logger } from '../../core/logger.js';
import { decide, servfail, type DnsSettings } from './dns-answer.js';
import type { MeshTable } from './table.js';
import type { Upstream } from './upstream.js';

const CLASSIC_UDP = 512;

export interface DnsServerDeps {
  table: () => MeshTable;
  settings: DnsSettings;
  upstream: Upstream;
  log: Logger;
}

export class DnsServer {
  private udp?: Socket;
  private tcp?: Server;
  private readonly conns = new Set<TcpSocket>();
  readonly counters = { queries: 0, cluster: 0, forwarded: 0, failed: 0, malformed: 0 };

  constructor(private readonly d: DnsServerDeps) {}

  /** The answer to one raw query (undefined: drop it). */
  async answer(raw: Buffer, tcp: boolean): Promise<Buffer | undefined> {
    let q: dns.DecodedPacket;
    try {
      q = dns.decode(raw);
    } catch {
      this.counters.malformed++;
      return undefined;
    }
    if (q.type !== 'query' || !q.questions?.length) {
      this.counters.malformed++;
      return undefined;
    }
    this.counters.queries++;
    const decision = decide(q, this.d.table(), this.d.settings);
    if (decision.kind === 'forward') {
      this.counters.forwarded++;
      try {
        return await this.d.upstream.query(raw, tcp);
      } catch (e) {
        this.counters.failed++;
        this.d.log.debug('upstream DNS failed', { name: q.questions[0]!.name, error: (e as Error).message });
        return dns.encode(servfail(q));
      }
    }
    this.counters.cluster++;
    const packet = decision.packet;
    if (decision.chase) {
      try {
        const follow = dns.decode(await this.d.upstream.query(dns.encode({ type: 'query', id: 1, flags: dns.RECURSION_DESIRED, questions: [{ type: 'A', name: decision.chase, class: 'IN' }] }), tcp));
        packet.answers = [...(packet.answers ?? []), ...(follow.answers ?? []).filter((a) => a.type === 'A' || a.type === 'CNAME')];
      } catch (e) {
        this.d.log.debug('could not resolve an external name', { name: decision.chase, error: (e as Error).message });
      }
    }
    const out = dns.encode(packet);
    if (tcp) return out;
    const opt = (q.additionals ?? []).find((x) => x.type === 'OPT') as dns.OptAnswer | undefined;
    const max = Math.max(CLASSIC_UDP, opt?.udpPayloadSize ?? CLASSIC_UDP);
    if (out.length <= max) return out;
    return dns.encode({ ...packet, answers: [], flags: (packet.flags ?? 0) | dns.TRUNCATED_RESPONSE });
  }

  async start(host: string, port: number): Promise<void> {
    const udp = createSocket({ type: 'udp4', reuseAddr: false });
    udp.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
      void this.answer(msg, false).then((out) => {
        if (out) udp.send(out, rinfo.port, rinfo.address, () => undefined);
      });
    });
    udp.on('error', (e) => this.d.log.warn('DNS socket error', { error: e.message }));
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    this.udp = udp;
    const tcp = createServer((sock) => this.serveTcp(sock));
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, host, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
    this.tcp = tcp;
  }

  private serveTcp(sock: TcpSocket): void {
    this.conns.add(sock);
    sock.setTimeout(10_000, () => sock.destroy());
    let buf = Buffer.alloc(0);
    let chain = Promise.resolve();
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        chain = chain.then(async () => {
          const out = await this.answer(Buffer.from(msg), true);
          if (!out) return void sock.destroy();
          const len = Buffer.alloc(2);
          len.writeUInt16BE(out.length);
          sock.write(Buffer.concat([len, out]));
        });
      }
      if (buf.length > 70_000) sock.destroy();
    });
    sock.on('error', () => undefined);
    sock.on('close', () => this.conns.delete(sock));
  }

  async stop(): Promise<void> {
    this.udp?.close();
    this.udp = undefined;
    for (const c of this.conns) c.destroy();
    await new Promise<void>((r) => (this.tcp ? this.tcp.close(() => r()) : r()));
    this.tcp = undefined;
  }
}
