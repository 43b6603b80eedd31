/**
 * The relay's private HTTP JSON API under /edge/v1 (routes in src/contract/api.ts): joining,
 * bootstrap tokens, and the object routes edgectl still uses until it speaks the Kubernetes API.
 * Admin calls need the bearer token. Served next to the Kubernetes API on the same listener.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EDGE_API_PREFIX } from '../contract/api.js';
import type { Logger } from '../core/logger.js';
import { safeEqual } from './auth.js';
import { httpStatusOf, WireError, type ErrorCode } from '../contract/errors.js';
import { readJson, sendError, sendJson } from './http.js';
import type { RpcRouter } from './rpc.js';
import type { RelayService } from './service.js';
import { openLogs, pipeLogs, podTarget, StreamRequestError, type NodeStreams } from './streams/index.js';

export interface ApiDeps {
  service: RelayService;
  rpc: RpcRouter;
  streams: NodeStreams;
  adminToken: string;
  log: Logger;
  /** how long to wait for a node's first answer (logs, twin) */
  rpcTimeoutMs?: number;
}

function seg(s: string | undefined): string {
  try {
    return decodeURIComponent(s ?? '');
  } catch {
    throw new WireError('Invalid', `malformed percent-encoding in the URL path segment "${s ?? ''}"`, [{ path: 'path', reason: 'malformed percent-encoding' }]);
  }
}

function requireAdmin(req: IncomingMessage, token: string): void {
  const h = req.headers.authorization ?? '';
  const m = /^Bearer\s+(.+)$/i.exec(h);
  if (!m || !safeEqual(m[1]!.trim(), token)) throw new WireError('Unauthorized', 'missing or wrong admin token (Authorization: Bearer ...)');
}

/** A stream refusal (a Kubernetes Status) in this API's error codes. */
const WIRE_CODE_OF_HTTP: Record<number, ErrorCode> = { 400: 'Invalid', 404: 'NotFound', 409: 'Conflict', 501: 'NotImplemented', 503: 'Unavailable', 504: 'Timeout' };

/** True for the requests this API answers (everything else is the Kubernetes API's). */
export const isEdgeApiPath = (url: string | undefined): boolean => (url ?? '').startsWith(`${EDGE_API_PREFIX}/`);

export function createEdgeApi(d: ApiDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const rpcTimeout = d.rpcTimeoutMs ?? 10_000;
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://relay');
    const parts = url.pathname.split('/').filter(Boolean);
    const method = req.method ?? 'GET';
    if (`/${parts[0]}/${parts[1]}` !== EDGE_API_PREFIX) throw new WireError('NotFound', `no route ${method} ${url.pathname}`);
    const [, , res1, a, b, c] = parts;
    if (res1 === 'join' && method === 'POST') return sendJson(res, 200, d.service.join(await readJson(req), req.headers.host));
    requireAdmin(req, d.adminToken);
    switch (res1) {
      case 'tokens':
        if (method === 'POST') {
          const body = (await readJson(req)) as { ttlSeconds?: unknown };
          return sendJson(res, 201, d.service.createToken(body.ttlSeconds));
        }
        break;
      case 'nodes':
        if (method === 'GET') return sendJson(res, 200, a ? d.service.nodeView(seg(a)) : d.service.listNodes());
        if (method === 'DELETE' && a) {
          const out = d.service.deleteNode(seg(a));
          if (!out.deleted) throw new WireError('NotFound', `node "${seg(a)}" not found`);
          return sendJson(res, 200, out);
        }
        break;
      case 'apply':
        if (method === 'POST') return sendJson(res, 200, d.service.apply(await readJson(req)));
        break;
      case 'objects':
        if (method === 'GET' && !a) {
          const q = (k: string): string | undefined => url.searchParams.get(k) ?? undefined;
          return sendJson(res, 200, d.service.listObjects({ kind: q('kind'), namespace: q('namespace'), node: q('node'), name: q('name') }));
        }
        if (a && b && c) {
          if (method === 'GET') return sendJson(res, 200, d.service.getObject(seg(a), seg(b), seg(c)));
          if (method === 'DELETE') return sendJson(res, 200, d.service.deleteObject(seg(a), seg(b), seg(c)));
        }
        break;
      case 'telemetry':
        if (method === 'GET') {
          const limit = Number(url.searchParams.get('limit') ?? 1000);
          return sendJson(res, 200, d.service.telemetry(url.searchParams.get('node') ?? undefined, Number.isInteger(limit) && limit > 0 ? Math.min(limit, 100_000) : 1000));
        }
        break;
      case 'logs':
        if (method === 'GET' && a && b) return streamLogs(req, res, url, seg(a), seg(b));
        break;
      case 'twin':
        if (method === 'POST' && a && b) return twin(req, res, seg(a), seg(b));
        break;
    }
    throw new WireError('NotFound', `no route ${method} ${url.pathname}`);
  };

  /** edgectl's logs: the same log stream as the Kubernetes /log endpoint, under this API's names */
  const streamLogs = async (_req: IncomingMessage, res: ServerResponse, url: URL, ns: string, pod: string): Promise<void> => {
    const node = d.service.nodeOf('Pod', ns, pod);
    const o = d.service.getObject('Pod', ns, pod);
    const q = url.searchParams;
    const tail = q.get('tail');
    if (tail !== null && !/^\d+$/.test(tail)) throw new WireError('Invalid', 'tail: must be a non-negative integer', [{ path: 'tail', reason: 'must be a non-negative integer' }]);
    const follow = q.get('follow') === '1' || q.get('follow') === 'true';
    const container = q.get('container');
    let session;
    try {
      session = await openLogs(d.streams, podTarget(node, o.manifest as never), {
        ...(container ? { container } : {}),
        logs: { follow, ...(tail !== null ? { tailLines: Number(tail) } : {}) },
      });
    } catch (e) {
      if (e instanceof StreamRequestError) throw new WireError(WIRE_CODE_OF_HTTP[e.status.code] ?? 'Failed', e.status.message ?? '');
      throw e;
    }
    await pipeLogs(session, res);
  };

  const twin = async (req: IncomingMessage, res: ServerResponse, ns: string, device: string): Promise<void> => {
    const body = (await readJson(req)) as { op?: unknown; values?: unknown };
    const node = d.service.nodeOf('Device', ns, device);
    const op = body.op === 'set' ? 'twin.set' : body.op === 'get' || body.op === undefined ? 'twin.get' : undefined;
    if (!op) throw new WireError('Invalid', 'op: must be get or set');
    let result: unknown = null;
    const call = d.rpc.call(node, op, { namespace: ns, name: device, ...(op === 'twin.set' ? { values: body.values ?? {} } : {}) }, (data) => {
      result = data;
    }, { firstMs: rpcTimeout, idleMs: rpcTimeout });
    await call.done;
    sendJson(res, 200, result);
  };

  return (req, res) => {
    route(req, res).catch((e: unknown) => {
      if (!(e instanceof WireError) || httpStatusOf(e.code) >= 500) d.log.debug('api error', { url: req.url, error: String(e) });
      sendError(res, e);
    });
  };
}
