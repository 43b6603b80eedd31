/**
 * The node's own resolver, for every name outside the cluster: the nameservers of its
 * resolv.conf (read again when the file changes), asked over UDP with a timeout each in turn,
 * and over TCP when the answer came back truncated. One UDP socket for all queries; each
 * query's id is swapped for a free one while it is out (answers are matched by id and server).
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync, statSync } from 'node:fs';
import { isIP, connect } from 'node:net';

export interface ResolvConf {
  servers: string[];
  search: string[];
  options: string[];
}

/** nameserver/search/options of a resolv.conf text (the last search or domain line wins, as libc reads it). */
export function parseResolvConf(text: string): ResolvConf {
  const out: ResolvConf = { servers: [], search: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [k, ...rest] = line.split(/\s+/);
    if (k === 'nameserver' && rest[0] && isIP(rest[0])) out.servers.push(rest[0]);
    else if (k === 'search' || k === 'domain') out.search = rest;
    else if (k === 'options') out.options.push(...rest);
  }
  return out;
}

/** resolv.conf, read again when its mtime changed (looked at no more than every 2 s). */
export class ResolvFile {
  private cached?: ResolvConf;
  private mtime = -1;
  private checkedAt = 0;

  constructor(
    private readonly file: string,
    private readonly now: () => number = Date.now,
  ) {}

  read(): ResolvConf {
    const t = this.now();
    if (this.cached && t - this.checkedAt < 2000) return this.cached;
    this.checkedAt = t;
    try {
      const m = statSync(this.file).mtimeMs;
      if (!this.cached || m !== this.mtime) {
        this.cached = parseResolvConf(readFileSync(this.file, 'utf8'));
        this.mtime = m;
      }
    } catch {
      this.cached ??= { servers: [], search: [], options: [] };
    }
    return this.cached;
  }
}

interface Pending {
  resolve: (b: Buffer) => void;
  reject: (e: Error) => void;
  server: string;
  originalId: number;
  timer: NodeJS.Timeout;
}

export class Upstream {
  private socket?: Socket;
  private readonly pending = new Map<number, Pending>();
  readonly counters = { queries: 0, timeouts: 0, tcp: 0 };

  constructor(
    /** the servers to ask, in order (the cluster DNS address itself already left out) */
    private readonly servers: () => string[],
    private readonly timeoutMs: number,
    /** 53; another only for tests */
    private readonly port = 53,
  ) {}

  private udp(): Socket {
    if (this.socket) return this.socket;
    const s = createSocket('udp4');
    s.on('message', (msg, rinfo) => {
      if (msg.length < 12) return;
      const id = msg.readUInt16BE(0);
      const p = this.pending.get(id);
      if (!p || p.server !== rinfo.address) return;
      this.pending.delete(id);
      clearTimeout(p.timer);
      const out = Buffer.from(msg);
      out.writeUInt16BE(p.originalId, 0);
      p.resolve(out);
    });
    s.on('error', () => undefined);
    s.unref();
    this.socket = s;
    return s;
  }

  private freeId(): number {
    for (;;) {
      const id = Math.floor(Math.random() * 65536);
      if (!this.pending.has(id)) return id;
    }
  }

  private askUdp(server: string, query: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const id = this.freeId();
      const msg = Buffer.from(query);
      const originalId = msg.readUInt16BE(0);
      msg.writeUInt16BE(id, 0);
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.counters.timeouts++;
        reject(new Error(`no answer from ${server} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, { resolve, reject, server, originalId, timer });
      this.udp().send(msg, this.port, server, (e) => {
        if (!e) return;
        this.pending.delete(id);
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  /** One query over TCP (2-byte length prefix, RFC 1035 4.2.2). */
  askTcp(server: string, query: Buffer): Promise<Buffer> {
    this.counters.tcp++;
    return new Promise((resolve, reject) => {
      const sock = connect(this.port, server);
      let buf = Buffer.alloc(0);
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new Error(`no TCP answer from ${server} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      sock.on('connect', () => {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(query.length);
        sock.write(Buffer.concat([len, query]));
      });
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          clearTimeout(timer);
          sock.end();
          resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        }
      });
      sock.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  /** The upstream answer to a raw query (its id kept), trying each server in turn. */
  async query(query: Buffer, tcp = false): Promise<Buffer> {
    this.counters.queries++;
    const servers = this.servers();
    if (!servers.length) throw new Error('no upstream nameserver in resolv.conf');
    let last: Error | undefined;
    for (const server of servers) {
      try {
        const answer = tcp ? await this.askTcp(server, query) : await this.askUdp(server, query);
        // truncated over UDP: ask again over TCP
        if (!tcp && answer.length >= 4 && answer.readUInt16BE(2) & 0x0200) return await this.askTcp(server, query);
        return answer;
      } catch (e) {
        last = e as Error;
      }
    }
    throw last ?? new Error('no upstream answered');
  }

  close(): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error('closed'));
    }
    this.pending.clear();
    this.socket?.close();
    this.socket = undefined;
  }
}
