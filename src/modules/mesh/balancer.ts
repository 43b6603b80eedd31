/**
 * Which endpoint a new connection goes to (pure but for the small state it keeps: a round-robin
 * position and ClientIP affinities per service port).
 *
 * - Only endpoints that have the Service port.
 * - internalTrafficPolicy Local: only this node's endpoints.
 * - Ready endpoints; when none is ready, serving ones (Kubernetes proxies fall back to serving
 *   terminating endpoints; here also to serving endpoints on a node the relay sees as not Ready —
 *   the pod may well run, and the node may be cut off from the relay only).
 * - trafficDistribution PreferClose: this node's endpoints first, then those on peers reached
 *   directly, then the rest.
 * - sessionAffinity ClientIP: a client keeps its endpoint while it stays eligible and it used
 *   it within the timeout.
 * - Otherwise round robin. A connection whose dial failed asks again with the failed endpoints
 *   excluded.
 */
import type { EndpointInfo, PortRoute } from './table.js';

export interface Target {
  address: string;
  port: number;
  nodeName?: string;
  fqdn: boolean;
}

export interface PickContext {
  self: string;
  clientIp: string;
  now: number;
  /** true when a peer is known to be reachable directly (PreferClose) */
  direct(node: string): boolean;
  /** `address:port` of targets already tried for this connection */
  exclude?: ReadonlySet<string>;
}

export const targetKey = (t: { address: string; port: number; nodeName?: string }): string => `${t.nodeName ?? ''}/${t.address}:${t.port}`;

function targetOf(e: EndpointInfo, portName: string): Target | undefined {
  const p = e.ports.get(portName);
  if (!p) return undefined;
  return { address: e.address, port: p.port, ...(e.nodeName ? { nodeName: e.nodeName } : {}), fqdn: e.fqdn };
}

/** The endpoints eligible for a route, in preference tiers (first non-empty tier wins). */
export function eligible(route: PortRoute, ctx: PickContext): Target[] {
  const svc = route.service;
  let eps = svc.endpoints.filter((e) => e.ports.has(route.portName));
  if (svc.localOnly) eps = eps.filter((e) => e.nodeName === ctx.self);
  let chosen = eps.filter((e) => e.ready);
  if (!chosen.length) chosen = eps.filter((e) => e.serving);
  let targets = chosen.map((e) => targetOf(e, route.portName)).filter((t): t is Target => !!t);
  if (ctx.exclude?.size) targets = targets.filter((t) => !ctx.exclude!.has(targetKey(t)));
  if (svc.preferClose) {
    const local = targets.filter((t) => t.nodeName === ctx.self);
    if (local.length) return local;
    const near = targets.filter((t) => t.nodeName && ctx.direct(t.nodeName));
    if (near.length) return near;
  }
  return targets;
}

export class Balancer {
  private readonly next = new Map<string, number>();
  private readonly sticky = new Map<string, { target: string; at: number }>();

  /** The endpoint for a new connection on `route`, or undefined when there is none. */
  pick(route: PortRoute, ctx: PickContext): Target | undefined {
    const targets = eligible(route, ctx);
    if (!targets.length) return undefined;
    const key = `${route.service.namespace}/${route.service.name}:${route.portName}/${route.protocol}`;
    const timeout = route.service.affinityMs;
    if (timeout !== undefined) {
      const s = this.sticky.get(`${key}@${ctx.clientIp}`);
      const kept = s && ctx.now - s.at <= timeout ? targets.find((t) => targetKey(t) === s.target) : undefined;
      if (kept) {
        this.sticky.set(`${key}@${ctx.clientIp}`, { target: s!.target, at: ctx.now });
        return kept;
      }
    }
    const i = (this.next.get(key) ?? 0) % targets.length;
    this.next.set(key, i + 1);
    const t = targets[i]!;
    if (timeout !== undefined) this.sticky.set(`${key}@${ctx.clientIp}`, { target: targetKey(t), at: ctx.now });
    return t;
  }

  /** Forget affinities older than their timeout (called now and then). */
  sweep(now: number, maxMs: number): void {
    for (const [k, v] of this.sticky) if (now - v.at > maxMs) this.sticky.delete(k);
  }
}
