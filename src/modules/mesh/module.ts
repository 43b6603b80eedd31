/**
 * mesh: Services for the node's pods, from what the node stores (Services and EndpointSlices
 * the relay sends; with the relay away, what it last sent). Three parts follow one table
 * (table.ts), rebuilt on every stored change of those kinds and every `resyncSeconds`:
 *
 * - capture (capture.ts): every ClusterIP and the cluster DNS address as a local address of the
 *   mesh's own interface, so pods' packets to them reach this daemon's sockets;
 * - the cluster DNS (dns-server.ts) on the DNS address, forwarding other names to the node's
 *   resolv.conf servers;
 * - the proxy (proxy.ts): one listener per Service port, each connection to a ready endpoint.
 *
 * An endpoint on another node is reached through that node's peer listener (peers.ts,
 * peer-server.ts): mutual TLS where each side is authenticated by the key the relay publishes on
 * its Node (identity.ts; this node reports its own through the uplink), one HTTP/2 CONNECT
 * stream per connection — directly when the peer can be dialled, else through a tunnel via the
 * relay (tunnels.ts) carrying the same TLS session. An endpoint with no node (the cloud side)
 * is reached through a tunnel the relay joins to that endpoint; the relay also opens tunnels
 * into this node for its LoadBalancer Services' cloud clients.
 */
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { errorMessage } from '../../core/errors.js';
import type { NodeMessage } from '../../node/messages.js';
import type { NodeContext, NodeModule } from '../../node/services.js';
import type { OpenResult } from '../../node/sessions.js';
import { Balancer, type Target } from './balancer.js';
import { Capture, runIp, type IpRunner } from './capture.js';
import { dialTcp, dialUdp } from './dial.js';
import { DnsServer } from './dns-server.js';
import { meshIdentity } from './identity.js';
import type { MeshMessage, MeshStatus } from './messages.js';
import { PeerServer } from './peer-server.js';
import { Peers } from './peers.js';
import { Tunnels } from './tunnels.js';
import { ServiceProxy, type Dialled } from './proxy.js';
import { addressesOf, buildTable, type MeshTable, type PortRoute } from './table.js';
import { ResolvFile, Upstream } from './upstream.js';

/** The stored kinds the table is built from. */
export const MESH_KINDS = ['Service', 'EndpointSlice', 'Node'] as const;

export class Mesh implements NodeModule {
  readonly name = 'mesh';
  readonly group = 'mesh';
  private ctx?: NodeContext;
  private table: MeshTable = buildTable({ services: [], slices: [], nodes: [], self: '', nodePorts: false });
  private capture?: Capture;
  private dns?: DnsServer;
  private upstream?: Upstream;
  private proxy?: ServiceProxy;
  private peers?: Peers;
  private peerServer?: PeerServer;
  private tunnels?: Tunnels;
  private readonly balancer = new Balancer();
  private addresses: string[] = [];
  private unsubscribe?: () => void;
  private timer?: NodeJS.Timeout;
  private debounce?: NodeJS.Timeout;
  private passes: Promise<void> = Promise.resolve();
  private waiting = false;

  /** `ip` is injectable for tests; the daemon runs iproute2's. */
  constructor(private readonly ip: IpRunner = runIp) {}

  async start(ctx: NodeContext): Promise<void> {
    this.ctx = ctx;
    const { config, store, metrics } = ctx.services;
    const cfg = config.modules.mesh;
    const self = config.node.name;
    this.capture = new Capture(cfg.interface, this.ip, ctx.log.child('capture'));
    await this.capture.ensure();
    this.rebuild();
    await this.capture.sync(this.wantedAddresses());
    this.addresses = await this.capture.present();
    if (cfg.dns.enabled) {
      const resolv = new ResolvFile(cfg.dns.resolvConf);
      this.upstream = new Upstream(() => resolv.read().servers.filter((s) => s !== cfg.dns.address), cfg.dns.upstreamTimeoutMs);
      this.dns = new DnsServer({ table: () => this.table, settings: { domain: cfg.dns.clusterDomain, ttl: cfg.dns.ttlSeconds }, upstream: this.upstream, log: ctx.log.child('dns') });
      await this.dns.start(cfg.dns.address, cfg.dns.port);
      const dns = this.dns;
      metrics.gauge('mesh_dns_queries_total', () =>
        (['cluster', 'forwarded', 'failed', 'malformed'] as const).map((answer) => ({ labels: { answer }, value: dns.counters[answer] })),
      );
    }
    if (cfg.peers.enabled) await this.startPeers(ctx);
    this.proxy = new ServiceProxy({
      self,
      table: () => this.table,
      balancer: this.balancer,
      dial: (target, route) => this.dial(target, route),
      direct: (node) => this.peers?.isDirect(node) ?? false,
      maxAttempts: cfg.maxAttempts,
      udpIdleMs: cfg.udpIdleSeconds * 1000,
      count: (path, protocol, bytes) => {
        if (!bytes) return metrics.count('mesh_connections_total', { path, protocol });
        metrics.count('mesh_bytes_total', { path, direction: 'out' }, bytes.out);
        metrics.count('mesh_bytes_total', { path, direction: 'in' }, bytes.in);
      },
      dialFailed: (path) => metrics.count('mesh_dial_failures_total', { path }),
      log: ctx.log.child('proxy'),
    });
    await this.proxy.sync();
    ctx.bus.serve((msg: NodeMessage) => this.handle(msg as MeshMessage));
    this.unsubscribe = store.resources.onChange(
      (c) => {
        if (c.op !== 'status' && (MESH_KINDS as readonly string[]).includes(c.resource.kind)) this.trigger();
      },
      () => false,
    );
    this.timer = setInterval(() => this.trigger(), cfg.resyncSeconds * 1000);
    this.timer.unref();
    ctx.log.info('mesh started', { interface: cfg.interface, link: this.capture.linkKind ?? 'existing', services: this.table.services.size, dns: cfg.dns.enabled ? `${cfg.dns.address}:${cfg.dns.port}` : 'off' });
  }

  /** The node's mesh key, its peer listener, and its key and port reported for the relay to publish. */
  private async startPeers(ctx: NodeContext): Promise<void> {
    const { config, metrics, uplink } = ctx.services;
    const cfg = config.modules.mesh;
    const identity = await meshIdentity(join(config.dataDir, 'mesh'), config.node.name);
    const server = new PeerServer({
      identity,
      // exactly one Node may hold a key: two claiming the same one are both refused
      peerByKey: (key) => {
        const hits = [...this.table.peers.values()].filter((p) => p.keySha256 === key);
        return hits.length === 1 ? hits[0]!.name : undefined;
      },
      allowed: (host, port, protocol) => this.localEndpoint(host, port, protocol),
      connectTimeoutMs: cfg.connectTimeoutMs,
      udpIdleMs: cfg.udpIdleSeconds * 1000,
      maxStreams: cfg.peers.maxStreamsPerPeer,
      log: ctx.log.child('peer-server'),
    });
    const port = await server.listen(cfg.peers.host, cfg.peers.port);
    this.peerServer = server;
    const tunnels = this.relayTunnels(ctx, server);
    this.peers = new Peers({
      identity,
      peer: (name) => this.table.peers.get(name),
      defaultPort: cfg.peers.port,
      localAddresses: () => new Set(Object.values(networkInterfaces()).flatMap((l) => (l ?? []).map((a) => a.address))),
      ...(tunnels ? { relay: (peer: string) => tunnels.request({ peer }) } : {}),
      relayOnly: (peer) => cfg.peers.viaRelay.includes('*') || cfg.peers.viaRelay.includes(peer),
      log: ctx.log.child('peers'),
      directTimeoutMs: cfg.peers.directTimeoutMs,
      retryDirectSeconds: cfg.peers.retryDirectSeconds,
      pingSeconds: cfg.peers.pingSeconds,
    });
    uplink.reportMesh({ keySha256: identity.keySha256, port });
    const peers = this.peers;
    metrics.gauge('mesh_peer_sessions', () => (['direct', 'relay'] as const).map((path) => ({ labels: { path }, value: Object.values(peers.paths()).filter((p) => p === path).length })));
    metrics.gauge('mesh_peer_streams_total', () => [
      { labels: { result: 'accepted' }, value: server.counters.streams },
      { labels: { result: 'refused' }, value: server.counters.refused + server.counters.unknownKeys },
    ]);
    ctx.log.info('mesh peer listener', { address: `${cfg.peers.host}:${port}`, keySha256: identity.keySha256 });
  }

  /** Tunnels through the relay (off with `peers.relay: false`): this node's requests, and sessions the relay opens here. */
  private relayTunnels(ctx: NodeContext, server: PeerServer): Tunnels | undefined {
    const cfg = ctx.services.config.modules.mesh;
    if (!cfg.peers.relay) return undefined;
    this.tunnels = new Tunnels({
      send: async (request) => {
        const r = await ctx.bus.request('edgehub', { type: 'edgehub.tunnel', request }, 5000);
        if (!r.sent) throw new Error(`tunnel request not sent: ${r.reason ?? 'unknown'}`);
      },
      acceptPeer: (raw) => server.accept(raw),
      local: (host, port) => this.localEndpoint(host, port, 'TCP'),
      connectTimeoutMs: cfg.connectTimeoutMs,
      answerTimeoutMs: cfg.peers.tunnelTimeoutMs,
      log: ctx.log.child('tunnels'),
    });
    return this.tunnels;
  }

  /** Is host:port (protocol) an endpoint of some Service that runs on this node? */
  private localEndpoint(host: string, port: number, protocol: 'TCP' | 'UDP'): boolean {
    const self = this.ctx!.services.config.node.name;
    for (const svc of this.table.services.values()) {
      const names = new Set(svc.ports.filter((p) => p.protocol === protocol).map((p) => p.name));
      for (const e of svc.endpoints) {
        if (e.nodeName !== self || e.address !== host) continue;
        if ([...e.ports].some(([name, p]) => names.has(name) && p.port === port && p.protocol === protocol)) return true;
      }
    }
    return false;
  }

  private async handle(msg: MeshMessage): Promise<MeshStatus | OpenResult | undefined> {
    if (msg.type === 'mesh.status') return this.status();
    if (msg.type === 'mesh.stream') return this.tunnels ? this.tunnels.open(msg.request) : { error: { code: 'Unavailable', message: 'mesh tunnels are off on this node (modules.mesh.peers)' } };
    if (msg.type === 'mesh.resync') {
      clearTimeout(this.debounce);
      await this.enqueue();
      return this.status();
    }
    return undefined;
  }

  status(): MeshStatus {
    const c = this.dns?.counters;
    return {
      services: this.table.services.size,
      listeners: this.proxy?.listening ?? [],
      addresses: [...this.addresses],
      connections: this.proxy?.connections ?? 0,
      peers: this.peers?.paths() ?? {},
      tunnels: { ...(this.tunnels?.counters ?? { requested: 0, answered: 0, peers: 0, targets: 0, refused: 0, timedOut: 0 }) },
      peerServer: this.peerServer ? { ...this.peerServer.counters, open: this.peerServer.openSessions } : undefined,
      dns: { queries: c?.queries ?? 0, cluster: c?.cluster ?? 0, forwarded: c?.forwarded ?? 0, failed: c?.failed ?? 0 },
      problems: [...this.table.problems],
    };
  }

  private wantedAddresses(): string[] {
    const cfg = this.ctx!.services.config.modules.mesh;
    return [...new Set([...addressesOf(this.table), ...(cfg.dns.enabled ? [cfg.dns.address] : [])])].sort();
  }

  private rebuild(): void {
    const { store, config } = this.ctx!.services;
    const r = store.resources;
    this.table = buildTable({ services: r.list('Service'), slices: r.list('EndpointSlice'), nodes: r.list('Node'), self: config.node.name, nodePorts: config.modules.mesh.nodePorts });
  }

  /** Passes run one at a time; a change while one runs queues one more (never more than one waiting). */
  private enqueue(): Promise<void> {
    if (this.waiting) return this.passes;
    this.waiting = true;
    this.passes = this.passes
      .then(() => {
        this.waiting = false;
        return this.pass();
      })
      .catch((e) => this.ctx?.log.warn('mesh pass failed', { error: errorMessage(e) }));
    return this.passes;
  }

  /** A pass soon (changes come in bursts: one pass for a burst). */
  private trigger(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.enqueue(), 50);
  }

  /** Table from the store; addresses added before listeners open, removed after they close. */
  private async pass(): Promise<void> {
    if (!this.capture || !this.proxy) return;
    this.rebuild();
    const wanted = this.wantedAddresses();
    const plan = await this.capture.sync([...new Set([...this.addresses, ...wanted])]);
    const l = await this.proxy.sync();
    const gone = await this.capture.sync(wanted);
    this.addresses = wanted;
    if (plan.add.length || gone.del.length || l.opened.length || l.closed.length) {
      this.ctx!.log.info('mesh updated', { services: this.table.services.size, added: plan.add, removed: gone.del, opened: l.opened, closed: l.closed, failed: l.failed });
    }
    if (this.table.problems.length) this.ctx!.log.warn('stored objects the mesh cannot use', { problems: this.table.problems });
  }

  /** This node's endpoints directly, a peer's over the mesh (directly or through the relay), a cloud one (no node) through the relay. */
  private async dial(target: Target, route: PortRoute): Promise<Dialled> {
    const cfg = this.ctx!.services.config.modules.mesh;
    if (target.fqdn) throw new Error(`endpoint ${target.address}:${target.port} is an FQDN endpoint: not dialled by the mesh`);
    if (!target.nodeName) {
      if (!this.tunnels) throw new Error(`endpoint ${target.address}:${target.port} runs on no edge node, and tunnels through the relay are off`);
      if (route.protocol !== 'TCP') throw new Error(`endpoint ${target.address}:${target.port} runs on no edge node: only TCP reaches the cloud side`);
      const { namespace, name } = route.service;
      return { stream: await this.tunnels.request({ target: { service: { namespace, name }, host: target.address, port: target.port } }), path: 'cloud' };
    }
    if (target.nodeName !== this.ctx!.services.config.node.name) {
      if (!this.peers) throw new Error(`endpoint ${target.address}:${target.port} runs on node ${target.nodeName}, and modules.mesh.peers is off`);
      const { stream, path } = await this.peers.open(target.nodeName, target.address, target.port, route.protocol === 'UDP' ? 'udp' : 'tcp');
      return { stream, path };
    }
    if (route.protocol === 'UDP') return { stream: dialUdp(target.address, target.port, cfg.udpIdleSeconds * 1000), path: 'local' };
    return { stream: await dialTcp(target.address, target.port, cfg.connectTimeoutMs), path: 'local' };
  }

  async stop(): Promise<void> {
    clearTimeout(this.debounce);
    clearInterval(this.timer);
    this.unsubscribe?.();
    await this.passes;
    await this.proxy?.close();
    this.tunnels?.failAll('mesh stopping');
    this.peers?.close();
    await this.peerServer?.close();
    await this.dns?.stop();
    this.upstream?.close();
    await this.capture?.remove();
  }
}
