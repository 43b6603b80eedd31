/**
 * The mesh's part of the node ⇄ relay contract (docs/mesh.md):
 * - a node asks the relay for a tunnel on its `mesh/request` topic (QoS 0: a request means
 *   nothing after the connection it was sent on is gone). The relay answers by opening stream
 *   sessions of kind `tunnel` (streams.ts) — on the asking node one that names the request's
 *   `id`, and, for a peer, one on the peer naming the asking node — and splicing them; or, for a
 *   cloud endpoint, by dialling it itself. A refusal is a session reset with the reason.
 * - a node's mesh identity travels in its status report (`mesh`): the SHA-256 of its TLS key
 *   (SubjectPublicKeyInfo) and the port its peers reach it on. The relay writes both onto the
 *   node's Node object as annotations, only from that node's own report, and every node's
 *   desired document carries its peers' Nodes — so a peer is authenticated by a key the relay
 *   vouches for, and a node can never speak for another.
 */
import * as z from 'zod';

/** The Node annotations the relay keeps from a node's mesh report. */
export const MESH_KEY_ANNOTATION = 'mesh.edgecore.io/key-sha256';
export const MESH_PORT_ANNOTATION = 'mesh.edgecore.io/port';

const nodeName = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a node name (DNS label)');

/** A node's request for a tunnel through the relay. Exactly one of `peer` and `target`. */
export const tunnelRequestSchema = z
  .strictObject({
    /** 32 hex digits, chosen by the node; the relay's session on the node names it */
    id: z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 hex digits'),
    /** reach this peer node's mesh (end-to-end TLS inside the tunnel) */
    peer: nodeName.optional(),
    /** reach this endpoint of a Service, dialled by the relay (an endpoint with no node: the cloud side) */
    target: z
      .strictObject({
        service: z.strictObject({ namespace: z.string().min(1).max(63), name: z.string().min(1).max(63) }),
        host: z.string().min(1).max(253),
        port: z.number().int().min(1).max(65535),
      })
      .optional(),
  })
  .refine((r) => !!r.peer !== !!r.target, 'exactly one of peer and target');
export type TunnelRequest = z.output<typeof tunnelRequestSchema>;

/**
 * What a tunnel session is for (OpenRequest.tunnel, kind `tunnel`; streams.ts). Exactly one of:
 * - `id`: the answer to this node's request `id` — its bytes are the node's end of the tunnel;
 *   with `refused`, the relay will not open it (the reason) and the node fails the request at once;
 * - `peer`: the peer node `peer` reaches this node's mesh through the relay (the bytes are a
 *   TLS connection the node's peer server authenticates like a direct one);
 * - `target`: bytes from the relay's side (a cloud client of an edge Service) for an endpoint
 *   that must run on this node (the node checks; anything else is refused).
 */
export const tunnelOpenSchema = z
  .strictObject({
    id: z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 hex digits').optional(),
    refused: z.string().max(1024).optional(),
    peer: nodeName.optional(),
    target: z.strictObject({ host: z.string().min(1).max(253), port: z.number().int().min(1).max(65535) }).optional(),
  })
  .refine((t) => [t.id, t.peer, t.target].filter((x) => x !== undefined).length === 1, 'exactly one of id, peer and target')
  .refine((t) => t.refused === undefined || t.id !== undefined, 'refused only with id');
export type TunnelOpen = z.output<typeof tunnelOpenSchema>;

/**
 * What the relay allows one node (docs/mesh.md): tunnels it asked for that are open or being
 * opened at once — each holds a stream session on the asking node and one on the peer, and at
 * most two windows of bytes per direction on the relay — so one node can hold at most this many
 * of a peer's sessions (streams.ts LIMITS.maxSessionsPerNode) and this many times the buffer.
 */
export const TUNNEL_LIMITS = {
  maxPerNode: 16,
  /** requests one node may make per second; more are dropped unanswered (counted) */
  maxRequestsPerSecond: 50,
} as const;

/** What a node reports about its mesh (in its status report). */
export const nodeMeshReportSchema = z.strictObject({
  /** hex SHA-256 of the DER SubjectPublicKeyInfo of the node's mesh TLS key */
  keySha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 hex digits'),
  /** the TCP port of its mesh listener */
  port: z.number().int().min(1).max(65535),
});
export type NodeMeshReport = z.output<typeof nodeMeshReportSchema>;

/** Bytes a tunnel request may be (JSON). */
export const MAX_TUNNEL_REQUEST_BYTES = 1024;
