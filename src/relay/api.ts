/**
 * The relay's private HTTP JSON API under /edge/v1 (routes in src/contract/api.ts): the object
 * routes edgectl still uses until it speaks the Kubernetes API (joining and bootstrap tokens are
 * src/relay/edge.ts). Every route needs a bearer token (src/relay/tokens.ts), authorized by the
 * API server's policy: the read-only token reads, but not Secrets. Served next to the Kubernetes
 * API on the same listener.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EDGE_API_PREFIX } from '../contract/api.js';
import type { Logger } from '../core/logger.js';
import { httpStatusOf, WireError, type ErrorCode } from '../contract/errors.js';
import { readJson, sendError, sendJson } from './http.js';
import type { RpcRouter } from './rpc.js';
import type { RelayService } from './service.js';
import { authorize as policy, forbiddenMessage, type Attributes, type Identity } from './apiserver/authz.js';
import { openLogs, pipeLogs, podTarget, StreamRequestError, type NodeStreams } from './streams/index.js';
import type { ApiTokens } from './tokens.js';

export interface ApiDeps {
  service: RelayService;
  rpc: RpcRouter;
  streams: NodeStreams;
  tokens: ApiTokens;
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

/** This API's routes in the API server's authorization terms (the same policy as the Kubernetes routes). */
function accessOf(method: string, res1: string | undefined, a: string | undefined, url: URL, twinOp?: unknown): Attributes {
  const read = method === 'GET';
  switch (res1) {
    case 'objects': {
      const kind = (a ?? url.searchParams.get('kind') ?? '').toLowerCase();
      return { verb: read ? 'get' : 'delete', group: '', resource: kind ? `${kind}s` : 'objects' };
    }
    case 'logs':
      return { verb: 'get', group: '', resource: 'pods', subresource: 'log' };
    case 'twin':
      return { verb: twinOp === 'set' ? 'update' : 'get', group: 'devices.kubeedge.io', resource: 'devices', subresource: 'twin' };
    case 'apply':
      return { verb: 'create', group: '', resource: 'objects' };
    default:
      return { verb: read ? 'get' : method === 'DELETE' ? 'delete' : 'create', group: '', resource: res1 ?? '' };
  }
}

/** A stream refusal (a Kubernetes Status) in this API's error codes. */
const WIRE_CODE_OF_HTTP: Record<number, ErrorCode> = { 400: 'Invalid', 404: 'NotFound', 409: 'Conflict', 501: 'NotImplemented', 503: 'Unavailable', 504: 'Timeout' };

const allowed = (who: Identity, a: Attributes): boolean => policy(who, a, undefined).allowed === true;

/** True for the requests this API answers (everything else is the Kubernetes API's). */
export const isEdgeApiPath = (url: string | undefined): boolean => (url ?? '').startsWith(`${EDGE_API_PREFIX}/`);

export function createEdgeApi(d: ApiDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const rpcTimeout = d.rpcTimeoutMs ?? 10_000;
  const authorize = (req: IncomingMessage, access: Attributes): Identity => {
    const who = d.tokens.authenticate(req.headers.authorization);
    if (!who) throw new WireError('Unauthorized', 'missing or wrong token (Authorization: Bearer ...)');
    if (!allowed(who, access)) throw new WireError('Forbidden', forbiddenMessage(who, access));
    return who;
  };
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://relay');
    const parts = url.pathname.split('/').filter(Boolean);
    const method = req.method ?? 'GET';
    if (`/${parts[0]}/${parts[1]}` !== EDGE_API_PREFIX) throw new WireError('NotFound', `no route ${method} ${url.pathname}`);
    const [, , res1, a, b, c] = parts;
    if (res1 !== 'twin') authorize(req, accessOf(method, res1, a, url));
    switch (res1) {
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
          const all = d.service.listObjects({ kind: q('kind'), namespace: q('namespace'), node: q('node'), name: q('name') });
          // an unfiltered list holds Secrets too: show them only to whoever may read Secrets
          const who = d.tokens.authenticate(req.headers.authorization)!;
          return sendJson(res, 200, allowed(who, { verb: 'list', group: '', resource: 'secrets' }) ? all : all.filter((o) => o.kind !== 'Secret'));
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
    const who = d.tokens.authenticate(req.headers.authorization);
    if (!who) throw new WireError('Unauthorized', 'missing or wrong token (Authorization: Bearer ...)');
    const body = (await readJson(req)) as { op?: unknown; values?: unknown };
    authorize(req, accessOf('POST', 'twin', undefined, new URL('http://relay'), body.op));
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
