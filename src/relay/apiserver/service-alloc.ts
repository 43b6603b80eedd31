/**
 * The Service allocator, a write hook on services: a ClusterIP from the service CIDR and node
 * ports from the node port range, as kube-apiserver's allocators hand them out, committed with
 * the Service itself. Each address taken is one internal record (serviceips/<ip>,
 * nodeports/<port>-<protocol>) naming its Service, so two Services can never commit the same
 * one — the store refuses the second create of a key, in one relay or several (fleet mode).
 *
 * Nothing is released on delete: a record whose Service is gone (or was recreated with another
 * uid, or no longer uses the address) counts as free and is taken over by the next allocation,
 * which is how Kubernetes' repair loop treats a leaked IP, without a second write path.
 */
import type { KubeObject } from '../../contract/kube/types.js';
import { allocatedClusterIp } from '../kinds/service-validate.js';
import { arr, rec, str, type Obj } from '../kinds/common.js';
import { INTERNAL_GROUP, internalKey, type InternalResource, type ServiceAllocation } from '../store/internal.js';
import type { ObjectStore, StoreOp } from '../store/objects.js';
import type { WriteHook } from './core.js';
import { invalidObject } from './errors.js';
import type { ResourceRegistry } from './registry.js';

export interface ServiceAllocatorOptions {
  /** the IPv4 range ClusterIPs come from, e.g. 10.96.0.0/12 */
  serviceCIDR: string;
  /** addresses never handed out (the nodes' cluster DNS address) */
  reserved: readonly string[];
  nodePorts: { min: number; max: number };
  random?: () => number;
  now?: () => number;
}

export function ipToInt(ip: string): number {
  const p = ip.split('.').map(Number);
  return (((p[0]! << 24) >>> 0) + (p[1]! << 16) + (p[2]! << 8) + p[3]!) >>> 0;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** The usable addresses of a CIDR (network and broadcast excluded); throws on a malformed one. */
export function parseCidr(cidr: string): { first: number; last: number; text: string } {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(cidr.trim());
  const bits = m ? Number(m[2]) : -1;
  if (!m || bits < 8 || bits > 30 || m[1]!.split('.').some((o) => Number(o) > 255)) throw new Error(`"${cidr}" is not an IPv4 CIDR between /8 and /30`);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  const net = (ipToInt(m[1]!) & mask) >>> 0;
  return { first: net + 1, last: (net | (~mask >>> 0)) - 1, text: `${intToIp(net)}/${bits}` };
}

export function inCidr(ip: string, cidr: { first: number; last: number }): boolean {
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) return false;
  const n = ipToInt(ip);
  return n >= cidr.first && n <= cidr.last;
}

const SERVICES = { group: '', resource: 'services' };

export class ServiceAllocator implements WriteHook {
  readonly group = '';
  readonly resource = 'services';
  private readonly cidr: { first: number; last: number; text: string };
  private readonly reserved: Set<string>;
  private readonly random: () => number;
  private readonly now: () => number;
  /** handed out but maybe not committed yet (two creates at once in this process never get the same) */
  private readonly pending = new Map<string, number>();

  constructor(
    private readonly store: ObjectStore,
    private readonly registry: ResourceRegistry,
    private readonly o: ServiceAllocatorOptions,
  ) {
    this.cidr = parseCidr(o.serviceCIDR);
    this.reserved = new Set(o.reserved);
    this.random = o.random ?? Math.random;
    this.now = o.now ?? Date.now;
  }

  get serviceCIDR(): string {
    return this.cidr.text;
  }

  private invalid(svc: KubeObject, path: string, reason: string): Error {
    return invalidObject(this.registry.byKind('', 'Service')!, svc.metadata.name ?? '', [{ path, reason }]);
  }

  /** Is the record's Service alive and still using the address? */
  private async held(resource: InternalResource, name: string, uses: (svc: KubeObject) => boolean): Promise<{ live: boolean; revision?: number; holder?: ServiceAllocation }> {
    const rec0 = await this.store.get(internalKey(resource, name));
    if (!rec0) return { live: false };
    const holder = rec0.spec as ServiceAllocation;
    const svc = await this.store.get({ ...SERVICES, namespace: holder.namespace, name: holder.name });
    const live = !!svc && svc.metadata.uid === holder.uid && uses(svc);
    return { live, revision: Number(rec0.metadata.resourceVersion), holder };
  }

  private takeOp(resource: InternalResource, name: string, svc: KubeObject, revision: number | undefined): StoreOp {
    const spec: ServiceAllocation = { namespace: svc.metadata.namespace ?? 'default', name: svc.metadata.name ?? '', uid: svc.metadata.uid ?? '' };
    const object: KubeObject = { apiVersion: `${INTERNAL_GROUP}/v1`, kind: resource, metadata: { name }, spec };
    const key = internalKey(resource, name);
    return revision === undefined ? { op: 'create', key, object } : { op: 'update', key, object, expect: revision };
  }

  private isPending(name: string): boolean {
    const t = this.pending.get(name);
    if (t === undefined) return false;
    if (this.now() - t > 30_000) {
      this.pending.delete(name);
      return false;
    }
    return true;
  }

  /**
   * Take `name` for `svc` if it is free; undefined when another live Service holds it (or, when
   * picking, when it was just handed to a create that has not committed yet).
   */
  private async take(resource: InternalResource, name: string, svc: KubeObject, uses: (s: KubeObject) => boolean, picking = false): Promise<StoreOp | undefined> {
    const h = await this.held(resource, name, uses);
    if (picking && h.revision === undefined && this.isPending(name)) return undefined;
    if (h.live && h.holder?.uid !== svc.metadata.uid) return undefined;
    // already this Service's: only check it stays so until the commit
    if (h.live) return { op: 'check', key: internalKey(resource, name), expect: h.revision ?? null };
    return this.takeOp(resource, name, svc, h.revision);
  }

  async beforeCommit(next: KubeObject, cur: KubeObject | undefined): Promise<StoreOp[]> {
    const spec = rec(next.spec) ?? {};
    const ops: StoreOp[] = [];
    if (spec.type !== 'ExternalName' && spec.clusterIP !== 'None') ops.push(...(await this.clusterIp(next, spec, cur)));
    const wantsNodePorts = spec.type === 'NodePort' || (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false);
    if (wantsNodePorts) ops.push(...(await this.nodePorts(next, spec, cur)));
    else for (const p of arr(spec.ports)) if (rec(p) && spec.type === 'LoadBalancer' && !rec(p)!.nodePort) delete rec(p)!.nodePort;
    return ops;
  }

  private async clusterIp(svc: KubeObject, spec: Obj, cur: KubeObject | undefined): Promise<StoreOp[]> {
    const had = rec(cur?.spec)?.type === 'ExternalName' ? '' : allocatedClusterIp(cur);
    let want = str(spec.clusterIP);
    if (!want && had) want = had; // an update that left it out keeps it, as Kubernetes does
    const set = (ip: string): void => {
      spec.clusterIP = ip;
      spec.clusterIPs = [ip];
    };
    if (want && want === had) {
      set(want);
      return [];
    }
    const uses = (ip: string) => (s: KubeObject) => allocatedClusterIp(s) === ip;
    if (want) {
      const path = 'spec.clusterIPs';
      const value = `[]string{"${want}"}`;
      if (!inCidr(want, this.cidr) || this.reserved.has(want)) {
        throw this.invalid(svc, path, `Invalid value: ${value}: failed to allocate IP ${want}: the provided IP (${want}) is not in the valid range. The range of valid IPs is ${this.cidr.text}`);
      }
      const op = await this.take('serviceips', want, svc, uses(want));
      if (!op) throw this.invalid(svc, path, `Invalid value: ${value}: failed to allocate IP ${want}: provided IP is already allocated`);
      set(want);
      return [op];
    }
    const size = this.cidr.last - this.cidr.first + 1;
    const start = Math.floor(this.random() * size);
    for (let i = 0; i < size; i++) {
      const ip = intToIp(this.cidr.first + ((start + i) % size));
      if (this.reserved.has(ip)) continue;
      const op = await this.take('serviceips', ip, svc, uses(ip), true);
      if (!op) continue;
      this.pending.set(ip, this.now());
      set(ip);
      return [op];
    }
    throw this.invalid(svc, 'spec.clusterIPs', `Internal error: failed to allocate a serviceIP: range is full`);
  }

  private async nodePorts(svc: KubeObject, spec: Obj, cur: KubeObject | undefined): Promise<StoreOp[]> {
    const ops: StoreOp[] = [];
    const curPorts = arr(rec(cur?.spec)?.ports).map(rec);
    const taken = new Set<string>();
    const { min, max } = this.o.nodePorts;
    const ports = arr(spec.ports).map(rec);
    for (const [i, p] of ports.entries()) {
      if (!p) continue;
      const proto = str(p.protocol) || 'TCP';
      const prev = curPorts.find((c) => c && c.port === p.port && (str(c.protocol) || 'TCP') === proto);
      let want = typeof p.nodePort === 'number' ? p.nodePort : 0;
      if (!want && typeof prev?.nodePort === 'number') want = prev.nodePort;
      const had = curPorts.some((c) => c && c.nodePort === want && (str(c.protocol) || 'TCP') === proto) && rec(cur?.spec)?.type !== 'ClusterIP';
      const uses = (port: number) => (s: KubeObject) => arr(rec(s.spec)?.ports).some((x) => rec(x)?.nodePort === port && (str(rec(x)?.protocol) || 'TCP') === proto);
      if (want) {
        const name = `${want}-${proto}`;
        if (taken.has(name)) throw this.invalid(svc, `spec.ports[${i}].nodePort`, `Duplicate value: ${want}`);
        taken.add(name);
        p.nodePort = want;
        if (had) continue;
        if (want < min || want > max) throw this.invalid(svc, `spec.ports[${i}].nodePort`, `Invalid value: ${want}: provided port is not in the valid range. The range of valid ports is ${min}-${max}`);
        const op = await this.take('nodeports', name, svc, uses(want));
        if (!op) throw this.invalid(svc, `spec.ports[${i}].nodePort`, `Invalid value: ${want}: provided port is already allocated`);
        ops.push(op);
        continue;
      }
      const size = max - min + 1;
      const start = Math.floor(this.random() * size);
      let got = false;
      for (let k = 0; k < size && !got; k++) {
        const port = min + ((start + k) % size);
        const name = `${port}-${proto}`;
        if (taken.has(name)) continue;
        const op = await this.take('nodeports', name, svc, uses(port), true);
        if (!op) continue;
        this.pending.set(name, this.now());
        taken.add(name);
        p.nodePort = port;
        ops.push(op);
        got = true;
      }
      if (!got) throw this.invalid(svc, `spec.ports[${i}].nodePort`, 'Internal error: failed to allocate a nodePort: range is full');
    }
    return ops;
  }
}
