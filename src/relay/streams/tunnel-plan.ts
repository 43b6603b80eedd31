/**
 * What the relay does with one node's tunnel request (contract: mesh.ts), decided from data
 * alone. A node is trusted with nothing: it may ask for a tunnel only to a peer node that
 * published a mesh key and runs an endpoint of some Service (what the mesh exists to reach), or
 * to a cloud endpoint (no nodeName) that the named Service's EndpointSlices list with that port —
 * never to an arbitrary address or node. Every node has at most `maxPerNode` tunnels open or
 * being opened (TUNNEL_LIMITS): each holds sessions on two nodes and buffers on the relay.
 */
import { MESH_KEY_ANNOTATION, tunnelRequestSchema, type TunnelRequest } from '../../contract/mesh.js';

/** An EndpointSlice as the planner reads it (what the API stores, loosely typed: nothing trusted). */
export interface SliceFacts {
  metadata?: { namespace?: string; labels?: Record<string, string> };
  addressType?: string;
  endpoints?: { addresses?: string[]; nodeName?: string }[];
  ports?: { port?: number; protocol?: string }[];
}

export interface TunnelFacts {
  /** the Node object of the peer asked for (undefined: no such Node) */
  peerNode?: { metadata?: { annotations?: Record<string, string> } };
  /** every EndpointSlice (peer requests) or the named Service's (target requests) */
  slices: SliceFacts[];
  /** tunnels this node has open or being opened now */
  active: number;
  maxPerNode: number;
}

export type TunnelPlan =
  | { action: 'peer'; id: string; peer: string }
  | { action: 'cloud'; id: string; host: string; port: number }
  | { action: 'refuse'; id: string; reason: string }
  /** not even an id to answer: dropped (and counted) */
  | { action: 'drop'; reason: string };

/** Parse a request's payload (JSON, already size-checked). */
export function parseTunnelRequest(payload: Buffer): { ok: true; request: TunnelRequest } | { ok: false; reason: string } {
  let v: unknown;
  try {
    v = JSON.parse(payload.toString('utf8'));
  } catch (e) {
    return { ok: false, reason: `not JSON: ${(e as Error).message}` };
  }
  const r = tunnelRequestSchema.safeParse(v);
  if (!r.success) return { ok: false, reason: r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') };
  return { ok: true, request: r.data };
}

/** Which facts a request needs: the peer's Node and every slice, or the named Service's slices. */
export function factsNeeded(req: TunnelRequest): { peer?: string; service?: { namespace: string; name: string } } {
  return req.peer ? { peer: req.peer } : { service: req.target!.service };
}

export function planTunnel(from: string, req: TunnelRequest, f: TunnelFacts): TunnelPlan {
  const { id } = req;
  if (f.active >= f.maxPerNode) return { action: 'refuse', id, reason: `node "${from}" has ${f.active} tunnels open (limit ${f.maxPerNode})` };
  if (req.peer) {
    const peer = req.peer;
    if (peer === from) return { action: 'refuse', id, reason: 'a node does not tunnel to itself' };
    if (!f.peerNode) return { action: 'refuse', id, reason: `no node "${peer}"` };
    if (!/^[0-9a-f]{64}$/.test(f.peerNode.metadata?.annotations?.[MESH_KEY_ANNOTATION] ?? '')) return { action: 'refuse', id, reason: `node "${peer}" has published no mesh key` };
    const hosts = f.slices.some((s) => (s.endpoints ?? []).some((e) => e.nodeName === peer));
    if (!hosts) return { action: 'refuse', id, reason: `node "${peer}" runs no endpoint of any Service` };
    return { action: 'peer', id, peer };
  }
  const t = req.target!;
  const listed = f.slices.some(
    (s) =>
      s.metadata?.namespace === t.service.namespace &&
      s.metadata.labels?.['kubernetes.io/service-name'] === t.service.name &&
      s.addressType === 'IPv4' &&
      (s.ports ?? []).some((p) => p.port === t.port && (p.protocol ?? 'TCP') === 'TCP') &&
      (s.endpoints ?? []).some((e) => !e.nodeName && (e.addresses ?? []).includes(t.host)),
  );
  if (!listed) return { action: 'refuse', id, reason: `${t.host}:${t.port} is no cloud endpoint (one without nodeName) of Service ${t.service.namespace}/${t.service.name}` };
  return { action: 'cloud', id, host: t.host, port: t.port };
}
