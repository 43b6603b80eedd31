/**
 * The relay's private HTTP JSON API under /edge/v1 (used by edgectl and `edgecore join`), served
 * on the same listener as its Kubernetes API (/api, /apis) — hence the prefix of its own. Shared types only; the relay
 * serves it (src/relay/api.ts), edgectl calls it (src/ctl/client.ts).
 *
 *   (bootstrap: /edge/v1/ca, /edge/v1/join, /edge/v1/tokens — src/contract/join.ts, src/relay/edge.ts)
 *   GET    /edge/v1/nodes[/NAME]                 admin                            → NodeView[] | NodeView
 *   DELETE /edge/v1/nodes/NAME                   admin                            → {deleted}
 *   POST   /edge/v1/apply                        admin   ApplyRequest             → ApplyResult
 *   GET    /edge/v1/objects?kind=&namespace=&node=&name=   admin                  → ObjectView[]
 *   GET    /edge/v1/objects/KIND/NS/NAME         admin                            → ObjectView
 *   DELETE /edge/v1/objects/KIND/NS/NAME         admin                            → {deleted}
 *   GET    /edge/v1/telemetry?node=&limit=       admin                            → telemetry rows, oldest first
 *   GET    /edge/v1/logs/NS/POD?container=&tail=&follow=1   admin               → text/plain stream
 *   POST   /edge/v1/twin/NS/DEVICE               admin   {op:'get'} | {op:'set', values} → twin reply
 *
 * "admin" routes take the admin token; the read-only token may use the GET routes (not for
 * Secrets) and a twin get. Errors: non-2xx with ApiErrorBody; validation errors carry field paths.
 */
import type { WireErrorBody } from './errors.js';

export const EDGE_API_PREFIX = '/edge/v1';

export interface ApiErrorBody {
  /** code from the contract's closed set (errors.ts), HTTP status from its one mapping */
  error: WireErrorBody;
}

export interface TokenCreated {
  token: string;
  expiresAt: string;
  /** the CA's pin for `edgecore join --ca-hash` (absent when the API runs plain HTTP) */
  caHash?: string;
  /** the whole `edgecore join ...` command line */
  joinCommand?: string;
}

export interface JoinRequest {
  token: string;
  node: string;
  labels?: Record<string, string>;
}

export interface JoinResponse {
  node: string;
  /** MQTT URL the node connects to */
  brokerUrl: string;
  username: string;
  password: string;
}

export type NodeReadiness = 'Ready' | 'NotReady' | 'Unknown';

export interface NodeView {
  name: string;
  status: NodeReadiness;
  online: boolean;
  /** ISO time of the last message from the node, if any */
  lastContact: string | null;
  /** the version the relay holds for this node */
  desiredVersion: number;
  /** the version the node last said it applied */
  appliedVersion: number;
  agentVersion: string;
  arch: string;
  labels: Record<string, string>;
  joinedAt: string;
  outbox?: { rows: number; dropped: number };
  lastError?: string;
}

/** Status of an object as reported by one node. */
export interface ReportedView {
  node: string;
  status: unknown;
  desiredVersion: number;
  updatedAt: string;
}

export interface ObjectView {
  kind: string;
  namespace: string;
  name: string;
  /** the node it is placed on, or '*' for every node */
  node: string;
  uid: string;
  generation: number;
  manifest: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
  reported: ReportedView[];
}

export interface ApplyRequest {
  object: unknown;
  /** place the object on this node (overrides spec.nodeName) */
  node?: string;
}

export interface ApplyResult {
  kind: string;
  namespace: string;
  name: string;
  node: string;
  result: 'created' | 'configured' | 'unchanged';
  generation: number;
}
