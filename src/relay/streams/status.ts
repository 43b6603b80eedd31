/**
 * Kubernetes answers for the stream adapters: the pod a request targets (resolved by the API
 * server), Status objects for refusals before a stream starts, the channel-3 status that ends
 * an exec, and the HTTP/upgrade plumbing to send them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { KubeObject, Status, StatusReason } from '../../contract/kube/types.js';
import type { ErrorCode } from '../../contract/errors.js';
import type { ExitStatus, StreamFailure } from '../../contract/streams.js';

/** The pod a stream request is for, as the API server resolved it. */
export interface PodTarget {
  /** the node the pod is bound to (spec.nodeName) */
  node: string;
  namespace: string;
  name: string;
  uid?: string;
  /** spec.containers[].name, in order */
  containers: string[];
  /** spec.initContainers[].name */
  initContainers: string[];
  /** status.phase, when known */
  phase?: string;
}

/** A PodTarget from a Pod object and the node it is bound to. */
export function podTarget(node: string, pod: KubeObject): PodTarget {
  const spec = (pod.spec ?? {}) as { containers?: { name?: string }[]; initContainers?: { name?: string }[] };
  const names = (l?: { name?: string }[]): string[] => (l ?? []).map((c) => c.name ?? '').filter(Boolean);
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  return {
    node,
    namespace: pod.metadata.namespace ?? 'default',
    name: pod.metadata.name ?? '',
    ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}),
    containers: names(spec.containers),
    initContainers: names(spec.initContainers),
    ...(phase ? { phase } : {}),
  };
}

/** A refusal before any stream started: becomes an HTTP answer carrying a Status. */
export class StreamRequestError extends Error {
  constructor(readonly status: Status) {
    super(status.message);
    this.name = 'StreamRequestError';
  }
}

export function statusOf(code: number, reason: StatusReason, message: string, details?: Status['details']): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code, ...(details ? { details } : {}) };
}

export const badRequest = (message: string): StreamRequestError => new StreamRequestError(statusOf(400, 'BadRequest', message));

/** A stream failure's wire code as Kubernetes answers it: HTTP code and Status reason. */
const STATUS_OF: Record<ErrorCode, [number, StatusReason]> = {
  Invalid: [400, 'BadRequest'],
  BadJson: [400, 'BadRequest'],
  TooLarge: [413, 'RequestEntityTooLarge'],
  Unauthorized: [401, 'Unauthorized'],
  Forbidden: [403, 'Forbidden'],
  NotFound: [404, 'NotFound'],
  Conflict: [409, 'Conflict'],
  NotImplemented: [501, 'InternalError'],
  Timeout: [504, 'Timeout'],
  Unavailable: [503, 'ServiceUnavailable'],
  Failed: [500, 'InternalError'],
  Internal: [500, 'InternalError'],
};

export function failureStatus(f: StreamFailure): Status {
  const [code, reason] = STATUS_OF[f.code];
  return statusOf(code, reason, f.message);
}

/** The container a request names, or the only one; refused as Kubernetes refuses it. */
export function resolveContainer(t: PodTarget, requested: string | null | undefined): string {
  if (requested) {
    if (!t.containers.includes(requested) && !t.initContainers.includes(requested)) throw badRequest(`container ${requested} is not valid for pod ${t.name}`);
    return requested;
  }
  if (t.containers.length === 1) return t.containers[0]!;
  if (t.containers.length === 0) throw badRequest(`pod ${t.name} has no containers`);
  throw badRequest(`a container name must be specified for pod ${t.name}, choose one of: [${t.containers.join(' ')}]`);
}

/** The status written on channel 3 when an exec or attach ends (kubelet's shape). */
export function channelStatus(exit: ExitStatus, command: string[] | undefined): Record<string, unknown> {
  if (exit.error) {
    const s = failureStatus(exit.error);
    return { metadata: {}, status: 'Failure', message: s.message, reason: s.reason, code: s.code };
  }
  const code = exit.exitCode ?? 0;
  if (code === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${(command ?? []).join(' ')}], exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

/** Go's strconv.ParseBool, as Kubernetes reads query booleans. */
export function queryBool(q: URLSearchParams, key: string, dflt = false): boolean {
  const v = q.get(key);
  if (v === null || v === '') return dflt;
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false;
  throw badRequest(`${key}: invalid value "${v}": must be true or false`);
}

export function queryInt(q: URLSearchParams, key: string, min: number): number | undefined {
  const v = q.get(key);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v) || Number(v) < min || !Number.isSafeInteger(Number(v))) throw badRequest(`${key}: invalid value "${v}": must be an integer ≥ ${min}`);
  return Number(v);
}

export function sendStatus(res: ServerResponse, s: Status): void {
  const body = JSON.stringify(s);
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(s.code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Answer an upgrade request with a Status instead of switching protocols. */
export function refuseUpgrade(socket: Duplex, s: Status): void {
  const body = JSON.stringify(s);
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${s.code} ${s.reason ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** The upgrade protocol a request asks for: 'websocket', 'spdy' or none. */
export function upgradeKind(req: IncomingMessage): 'websocket' | 'spdy' | 'none' {
  const u = (req.headers.upgrade ?? '').toLowerCase();
  if (u === 'websocket') return 'websocket';
  if (u.startsWith('spdy/')) return 'spdy';
  return 'none';
}

/** The protocol to answer with: the first of `supported` (our preference) that the client offered. */
export function pickProtocol(req: IncomingMessage, supported: readonly string[]): string | undefined {
  const offered = (req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  return supported.find((p) => offered.includes(p));
}
