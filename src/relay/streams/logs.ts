/**
 * GET /api/v1/namespaces/{ns}/pods/{name}/log: a container's log from its node as chunked
 * text/plain, over a `logs` stream session. Query as Kubernetes reads it: container, follow,
 * tailLines, sinceSeconds | sinceTime, timestamps, previous, limitBytes (pretty and
 * insecureSkipTLSVerifyBackend are accepted and ignored). The 200 is sent only when the node
 * has opened the log, so a missing container is a proper Status error; output is credited
 * back to the node only as the client's socket takes it (a slow reader stalls only itself).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StreamLogOptions } from '../../contract/streams.js';
import type { NodeStreams, RelaySession } from './node-streams.js';
import { StreamError } from './node-streams.js';
import { badRequest, failureStatus, queryBool, queryInt, resolveContainer, sendStatus, StreamRequestError, type PodTarget } from './status.js';

export interface LogQuery {
  container?: string;
  logs: StreamLogOptions;
  limitBytes?: number;
}

export function parseLogQuery(q: URLSearchParams, now: number): LogQuery {
  const sinceSeconds = queryInt(q, 'sinceSeconds', 1);
  const sinceTime = q.get('sinceTime');
  if (sinceSeconds !== undefined && sinceTime) throw badRequest('at most one of sinceTime or sinceSeconds may be specified');
  let since = sinceSeconds;
  if (sinceTime) {
    const t = Date.parse(sinceTime);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(sinceTime) || Number.isNaN(t)) throw badRequest(`sinceTime: invalid value "${sinceTime}": must be an RFC 3339 time`);
    since = Math.max(1, Math.ceil((now - t) / 1000));
  }
  const tailLines = queryInt(q, 'tailLines', 0);
  const limitBytes = queryInt(q, 'limitBytes', 1);
  const container = q.get('container');
  return {
    ...(container ? { container } : {}),
    logs: {
      follow: queryBool(q, 'follow'),
      timestamps: queryBool(q, 'timestamps'),
      previous: queryBool(q, 'previous'),
      ...(tailLines !== undefined ? { tailLines } : {}),
      ...(since !== undefined ? { sinceSeconds: since } : {}),
    },
    ...(limitBytes !== undefined ? { limitBytes } : {}),
  };
}

/** Open the log session; resolves once the node started reading (rejects with StreamRequestError). */
export async function openLogs(streams: NodeStreams, target: PodTarget, q: LogQuery): Promise<RelaySession> {
  const container = resolveContainer(target, q.container);
  const s = streams.open(target.node, {
    kind: 'logs',
    pod: { namespace: target.namespace, name: target.name, ...(target.uid ? { uid: target.uid } : {}) },
    container,
    logs: q.logs,
  });
  try {
    await s.ready;
  } catch (e) {
    if (e instanceof StreamError) throw new StreamRequestError(failureStatus(e.failure));
    throw e;
  }
  return s;
}

/** Copy an opened log session to an HTTP response (chunked); resolves when either side ended. */
export async function pipeLogs(s: RelaySession, res: ServerResponse, limitBytes?: number): Promise<void> {
  const onClose = (): void => s.close('log reader went away');
  res.once('close', onClose);
  if (!res.headersSent) {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    res.flushHeaders();
  }
  let left = limitBytes ?? Infinity;
  s.onData((_channel, data) => {
    if (left <= 0) return;
    const part = data.length > left ? data.subarray(0, left) : data;
    left -= part.length;
    res.write(part, () => s.ack(data.length));
    if (left <= 0) {
      s.close('limitBytes reached');
      res.end();
    }
  });
  await s.exit;
  res.off('close', onClose);
  if (!res.writableEnded) res.end();
}

/** The Kubernetes /log endpoint for one resolved pod. */
export async function serveLogs(streams: NodeStreams, req: IncomingMessage, res: ServerResponse, target: PodTarget): Promise<void> {
  let s: RelaySession;
  let q: LogQuery;
  try {
    q = parseLogQuery(new URL(req.url ?? '/', 'http://relay').searchParams, Date.now());
    s = await openLogs(streams, target, q);
  } catch (e) {
    if (e instanceof StreamRequestError) return sendStatus(res, e.status);
    throw e;
  }
  if (res.destroyed) {
    s.close('log reader went away');
    return;
  }
  await pipeLogs(s, res, q.limitBytes);
}
