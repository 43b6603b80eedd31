/**
 * Edge Services for the cloud side (docs/mesh.md): the relay is the load balancer of
 * `type: LoadBalancer` Services, as a cloud provider's or MetalLB's would be. For each such
 * Service's TCP ports it listens on `mesh.loadBalancer.address:<port>` and writes
 * `status.loadBalancer.ingress[0].ip` (so `kubectl get svc` shows the EXTERNAL-IP); a connection
 * goes to a ready endpoint on an edge node (round robin; the next one when a node refuses)
 * through a `tunnel` session that node opens to its own endpoint (`{target}`), joined to the
 * socket with the stream contract's credit. A port another Service already holds, or one the
 * relay cannot bind, leaves that Service pending (logged), as a load balancer with no address
 * left would.
 *
 * Level-triggered: `sync()` lists Services and EndpointSlices and makes the listeners match;
 * it runs on a timer and after every change the store reports.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { ObjectStore } from '../store/objects.js';
import type { NodeStreams } from './node-streams.js';
import { joinSocket } from './tunnels.js';
import type { SliceFacts } from './tunnel-plan.js';

const SERVICES = { group: '', resource: 'services' };
const SLICES = { group: 'discovery.k8s.io', resource: 'endpointslices' };

interface LbService {
  metadata: { namespace?: string; name?: string };
  spec?: { type?: string; ports?: { name?: string; port?: number; protocol?: string }[] };
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}

/** One listener's route: the Service port it serves. */
export interface LbRoute {
  namespace: string;
  service: string;
  portName: string;
  port: number;
}

/** Pure: the listeners wanted (port → route) from the Services; the first Service (by namespace/name) to ask for a port gets it. */
export function planListeners(services: LbService[]): { routes: Map<number, LbRoute>; conflicts: string[] } {
  const routes = new Map<number, LbRoute>();
  const conflicts: string[] = [];
  const sorted = [...services].sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
  for (const s of sorted) {
    if (s.spec?.type !== 'LoadBalancer') continue;
    for (const p of s.spec.ports ?? []) {
      if ((p.protocol ?? 'TCP') !== 'TCP' || !p.port) continue;
      const held = routes.get(p.port);
      if (held) {
        conflicts.push(`${s.metadata.namespace}/${s.metadata.name} port ${p.port}: held by ${held.namespace}/${held.service}`);
        continue;
      }
      routes.set(p.port, { namespace: s.metadata.namespace ?? 'default', service: s.metadata.name ?? '', portName: p.name ?? '', port: p.port });
    }
  }
  return { routes, conflicts };
}

/** Pure: the edge endpoints of a route (ready, on a node, with the port), as node + address + target port. */
export function edgeEndpoints(route: LbRoute, slices: SliceFacts[]): { node: string; host: string; port: number }[] {
  const out: { node: string; host: string; port: number }[] = [];
  for (const s of slices) {
    if (s.metadata?.namespace !== route.namespace || s.metadata.labels?.['kubernetes.io/service-name'] !== route.service || s.addressType !== 'IPv4') continue;
    const p = (s.ports ?? []).find((x) => ((x as { name?: string }).name ?? '') === route.portName && (x.protocol ?? 'TCP') === 'TCP');
    if (!p?.port) continue;
    for (const e of s.endpoints ?? []) {
      const ready = (e as { conditions?: { ready?: boolean } }).conditions?.ready !== false;
      if (!e.nodeName || !ready) continue;
      for (const a of e.addresses ?? []) out.push({ node: e.nodeName, host: a, port: p.port });
    }
  }
  return out;
}

export interface LoadBalancerDeps {
  streams: NodeStreams;
  objects: Pick<ObjectStore, 'list' | 'watch' | 'revision'>;
  /** write `status.loadBalancer` of a Service */
  writeStatus(namespace: string, name: string, ip: string): Promise<void>;
  /** where the listeners bind */
  address: string;
  /** the address written into the Services' status (default: `address`) */
  ingressIP: string;
  resyncMs: number;
  log: Logger;
}

export class ServiceLoadBalancer {
  private readonly listeners = new Map<number, { server: Server; route: LbRoute }>();
  private slices: SliceFacts[] = [];
  private rr = 0;
  private timer?: NodeJS.Timeout;
  private stopWatch?: () => void;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;
  readonly counters = { connections: 0, failed: 0 };

  constructor(private readonly d: LoadBalancerDeps) {}

  async start(): Promise<void> {
    const from = await this.d.objects.revision();
    const watches = await Promise.all([SERVICES, SLICES].map((scope) => this.d.objects.watch(scope, from, () => this.trigger())));
    this.stopWatch = () => watches.forEach((w) => w.stop());
    await this.sync();
    this.timer = setInterval(() => this.trigger(), this.d.resyncMs);
    this.timer.unref();
  }

  /** the ports listened on now */
  get ports(): number[] {
    return [...this.listeners.keys()].sort((a, b) => a - b);
  }

  private trigger(): void {
    this.running = this.running.then(() => this.sync()).catch((e) => this.d.log.warn('load balancer sync failed', { error: errorMessage(e) }));
  }

  /** Listeners to match the LoadBalancer Services; status written where it is not yet ours. */
  async sync(): Promise<void> {
    if (this.stopped) return;
    const services = (await this.d.objects.list(SERVICES)).items as unknown as LbService[];
    this.slices = (await this.d.objects.list(SLICES)).items as SliceFacts[];
    const { routes, conflicts } = planListeners(services);
    for (const c of conflicts) this.d.log.warn('LoadBalancer port not served', { conflict: c });
    for (const [port, l] of this.listeners) {
      const want = routes.get(port);
      if (!want || want.namespace !== l.route.namespace || want.service !== l.route.service || want.portName !== l.route.portName) {
        this.listeners.delete(port);
        l.server.close();
      }
    }
    for (const [port, route] of routes) {
      if (this.listeners.has(port)) continue;
      try {
        this.listeners.set(port, { server: await this.listen(port, route), route });
      } catch (e) {
        this.d.log.warn('LoadBalancer port not served', { service: `${route.namespace}/${route.service}`, port, error: errorMessage(e) });
      }
    }
    for (const s of services) {
      const ns = s.metadata.namespace ?? 'default';
      const name = s.metadata.name ?? '';
      const served = [...this.listeners.values()].some((l) => l.route.namespace === ns && l.route.service === name);
      if (!served || s.status?.loadBalancer?.ingress?.[0]?.ip === this.d.ingressIP) continue;
      await this.d.writeStatus(ns, name, this.d.ingressIP).catch((e) => this.d.log.warn('LoadBalancer status not written', { service: `${ns}/${name}`, error: errorMessage(e) }));
    }
  }

  private listen(port: number, route: LbRoute): Promise<Server> {
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (sock) => void this.connection(route, sock));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.d.address, () => {
        server.off('error', reject);
        server.on('error', (e) => this.d.log.warn('LoadBalancer listener failed', { port, error: errorMessage(e) }));
        resolve(server);
      });
    });
  }

  /** A cloud client: to a ready edge endpoint through a tunnel its node opens; the next endpoint when one fails. */
  private async connection(route: LbRoute, sock: Socket): Promise<void> {
    sock.on('error', () => undefined);
    const eps = edgeEndpoints(route, this.slices);
    for (let i = 0; i < Math.min(eps.length, 3) && !sock.destroyed; i++) {
      const e = eps[this.rr++ % eps.length]!;
      const s = this.d.streams.open(e.node, { kind: 'tunnel', tunnel: { target: { host: e.host, port: e.port } } });
      try {
        await s.ready;
      } catch (err) {
        this.d.log.debug('LoadBalancer endpoint refused', { service: `${route.namespace}/${route.service}`, node: e.node, error: errorMessage(err) });
        continue;
      }
      this.counters.connections++;
      joinSocket(s, sock);
      sock.resume();
      return;
    }
    this.counters.failed++;
    sock.destroy();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.stopWatch?.();
    await this.running;
    for (const l of this.listeners.values()) l.server.close();
    this.listeners.clear();
  }
}
