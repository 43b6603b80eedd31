/**
 * Payloads of the node ⇄ relay wire contract (see topics.ts). JSON on the wire.
 */

/** node → relay on `reportedState`: the latest status of one object. Outbox key = `${kind}/${namespace}/${name}`. */
export interface ReportedState {
  kind: string;
  namespace: string;
  name: string;
  /** the object's status (pod status, device twin reported values and state, node status) */
  status: unknown;
  /** the desired document version the node had applied when it produced this */
  desiredVersion: number;
  /** ms since epoch */
  timestamp: number;
}

/** node → relay on `reportedTelemetry`: one event or sample, appended. */
export interface ReportedTelemetry {
  kind: string;
  namespace: string;
  name: string;
  /** e.g. "twin.reported", "pod.event" */
  event: string;
  data: unknown;
  desiredVersion: number;
  timestamp: number;
}

export const stateKey = (kind: string, namespace: string, name: string): string => `${kind}/${namespace}/${name}`;
