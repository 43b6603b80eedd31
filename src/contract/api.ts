/**
 * The relay's private HTTP JSON API under /edge/v1: only what the Kubernetes API has no place
 * for — bootstrap tokens, joining, and device telemetry history. Everything else (nodes, pods,
 * devices, their status, events, logs) is the Kubernetes API on the same listener. Shared types
 * only; the relay serves it (src/relay/api.ts), edgectl and `edgecore join` call it.
 *
 *   (bootstrap: /edge/v1/ca, /edge/v1/join, /edge/v1/tokens — src/contract/join.ts, src/relay/edge.ts)
 *   GET    /edge/v1/telemetry?node=&limit=       admin                            → TelemetryRow[], oldest first
 *   GET    /edge/v1/desired                      admin                            → DesiredVersions
 *
 * Both take the admin or the read-only token. Errors: non-2xx with ApiErrorBody; validation
 * errors carry field paths.
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
  /** more members of a clustered broker (fleet mode): the node moves to the next when one fails */
  brokerUrls?: string[];
  username: string;
  password: string;
}

/** One telemetry sample (or event) a node sent, as the relay keeps it. */
export interface TelemetryRow {
  id: number;
  node: string;
  kind: string;
  namespace: string;
  name: string;
  event: string;
  data: unknown;
  desiredVersion: number;
  seq: number | null;
  /** the node's time (ms); order is the relay's (id) */
  timestamp: number;
}

/**
 * Which desired document each node should hold: the (epoch, version) of the document the relay
 * last published for it. A node whose `edgecore.io/applied-version` annotation is lower has not
 * caught up yet. A Node with no entry has had no document computed yet (the relay is starting).
 */
export interface DesiredVersions {
  epoch: string;
  nodes: Record<string, number>;
}
