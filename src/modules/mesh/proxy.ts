/**
 * The proxy: one listener per Service port on its ClusterIP (and on the node port, for NodePort
 * and LoadBalancer Services), TCP and UDP. A new connection looks its route up in the current
 * table, asks the balancer for an endpoint, and the dialler for a stream to it — on this node
 * directly, on a peer over the mesh, outside the edge through the relay; a dial that fails is
 * retried on another endpoint (up to `maxAttempts`). Listeners follow the table: a change opens
 * and closes only the listeners that changed, and never touches connections already open.
 * A UDP client (address and port) is a flow with its own endpoint, forgotten after idling.
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../core/logger.js';
import { targetKey, type Balancer, type Target } from './balancer.js';
import { join } from './pipe.js';
import type { MeshTable, PortRoute } from './table.js';
import { Deframer, frame } from './udp.js';

export type Path = 'local' | 'direct' | 'relay' | 'cloud';

export interface Dialled {
  stream: Duplex;
  path: Path;
}

export interface ProxyDeps {
  self: string;
  table: () => MeshTable;
  balancer: Balancer;
  /** a stream to the target (TCP, or framed datagrams for UDP); rejects when it cannot be reached */
  dial(target: Target, route: PortRoute): Promise<Dialled>;
  direct(node: string): boolean;
  maxAttempts: number;
  udpIdleMs: number;
  /** connections and bytes, by path */
  count(path: Path | 'none', protocol: string, bytes?: { out: number; in: number }): void;
  dialFailed(path: Path): void;
  log: Logger;
  now?: () => number;
}

/** A listener: `ip:port/PROTO` (ClusterIP) or `*:port/PROTO` (node port). */
interface Listener {
  key: string;
  close(): Promise<void>;
}

export function listenerKeys(t: MeshTable): string[] {
  return [...t.vips.keys(), ...[...t.nodePorts.keys()].map((k) => `*:${k}`)].sort();
}

export class ServiceProxy {
  private readonly listeners = new Map<string, Listener>();
  private readonly open = new Set<Duplex | Socket>();
  private readonly now: () => number;

  constructor(private readonly d: ProxyDeps) {
    this.now = d.now ?? Date.now;
  }

  private route(key: string): PortRoute | undefined {
    const t = this.d.table();
    return key.startsWith('*:') ? t.nodePorts.get(key.slice(2)) : t.vips.get(key);
  }

  /** Open and close listeners so there is exactly one per route; failures are logged and retried next sync. */
  async sync(): Promise<{ opened: string[]; closed: string[]; failed: string[] }> {
    const want = new Set(listenerKeys(this.d.table()));
    const out = { opened: [] as string[], closed: [] as string[], failed: [] as string[] };
    for (const [k, l] of [...this.listeners]) {
      if (want.has(k)) continue;
      this.listeners.delete(k);
      await l.close();
      out.closed.push(k);
    }
    for (const k of want) {
      if (this.listeners.has(k)) continue;
      try {
        this.listeners.set(k, await this.listen(k));
        out.opened.push(k);
      } catch (e) {
        out.failed.push(k);
        this.d.log.warn('could not listen for a service port', { listener: k, error: (e as Error).message });
      }
    }
    return out;
  }

  private listen(key: string): Promise<Listener> {
    const m = /^(.+):(\d+)\/(TCP|UDP)$/.exec(key)!;
    const host = m[1] === '*' ? '0.0.0.0' : m[1]!;
    const port = Number(m[2]);
    return m[3] === 'UDP' ? this.listenUdp(key, host, port) : this.listenTcp(key, host, port);
  }

  private listenTcp(key: string, host: string, port: number): Promise<Listener> {
    const server: Server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (sock) => void this.accept(key, sock));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        server.on('error', (e) => this.d.log.warn('service listener error', { listener: key, error: e.message }));
        resolve({ key, close: () => new Promise<void>((r) => server.close(() => r())) });
      });
    });
  }

  /** Pick, dial (trying others on failure), join. */
  private async accept(key: string, client: Socket): Promise<void> {
    client.on('error', () => undefined);
    client.setNoDelay(true);
    this.open.add(client);
    client.once('close', () => this.open.delete(client));
    const tried = new Set<string>();
    for (let attempt = 0; attempt < this.d.maxAttempts; attempt++) {
      const route = this.route(key);
      if (!route) break;
      const target = this.d.balancer.pick(route, { self: this.d.self, clientIp: client.remoteAddress ?? '', now: this.now(), direct: this.d.direct, exclude: tried });
      if (!target) break;
      tried.add(targetKey(target));
      let dialled: Dialled;
      try {
        dialled = await this.d.dial(target, route);
      } catch (e) {
        this.d.dialFailed(target.nodeName === this.d.self ? 'local' : target.nodeName ? 'direct' : 'cloud');
        this.d.log.debug('dial failed; trying another endpoint', { listener: key, target: targetKey(target), error: (e as Error).message });
        continue;
      }
      if (client.destroyed) return void dialled.stream.destroy();
      const j = join(client, dialled.stream);
      client.resume();
      this.d.count(dialled.path, 'TCP');
      void j.done.then(() => this.d.count(dialled.path, 'TCP', { out: j.bytes.ab, in: j.bytes.ba }));
      return;
    }
    this.d.count('none', 'TCP');
    client.resetAndDestroy();
  }

  private listenUdp(key: string, host: string, port: number): Promise<Listener> {
    const sock = createSocket('udp4');
    const flows = new Map<string, { stream: Duplex; at: number }>();
    const pending = new Map<string, Buffer[]>();
    const sweep = setInterval(() => {
      for (const [k, f] of flows) if (this.now() - f.at > this.d.udpIdleMs) (flows.delete(k), f.stream.destroy());
    }, Math.min(10_000, this.d.udpIdleMs));
    sweep.unref();
    const start = async (client: RemoteInfo, flowKey: string): Promise<void> => {
      const tried = new Set<string>();
      for (let attempt = 0; attempt < this.d.maxAttempts; attempt++) {
        const route = this.route(key);
        const target = route && this.d.balancer.pick(route, { self: this.d.self, clientIp: client.address, now: this.now(), direct: this.d.direct, exclude: tried });
        if (!route || !target) break;
        tried.add(targetKey(target));
        try {
          const { stream, path } = await this.d.dial(target, route);
          const deframe = new Deframer();
          stream.on('data', (c: Buffer) => {
            for (const dg of deframe.push(c)) sock.send(dg, client.port, client.address);
          });
          stream.on('error', () => undefined);
          stream.once('close', () => flows.delete(flowKey));
          flows.set(flowKey, { stream, at: this.now() });
          this.d.count(path, 'UDP');
          for (const dg of pending.get(flowKey) ?? []) stream.write(frame(dg));
          pending.delete(flowKey);
          return;
        } catch {
          // the next attempt tries another endpoint
        }
      }
      pending.delete(flowKey);
      this.d.count('none', 'UDP');
    };
    sock.on('message', (msg, client) => {
      const flowKey = `${client.address}:${client.port}`;
      const f = flows.get(flowKey);
      if (f) {
        f.at = this.now();
        f.stream.write(frame(msg));
        return;
      }
      const queued = pending.get(flowKey);
      if (queued) {
        if (queued.length < 64) queued.push(msg);
        return;
      }
      pending.set(flowKey, [msg]);
      void start(client, flowKey);
    });
    return new Promise((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(port, host, () => {
        sock.off('error', reject);
        sock.on('error', () => undefined);
        resolve({
          key,
          close: async () => {
            clearInterval(sweep);
            for (const f of flows.values()) f.stream.destroy();
            (sock as UdpSocket).close();
          },
        });
      });
    });
  }

  get listening(): string[] {
    return [...this.listeners.keys()];
  }

  get connections(): number {
    return this.open.size;
  }

  async close(): Promise<void> {
    for (const l of this.listeners.values()) await l.close();
    this.listeners.clear();
    for (const s of this.open) s.destroy();
  }
}
