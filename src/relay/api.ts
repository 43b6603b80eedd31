/** The relay's HTTP JSON API (routes in src/contract/api.ts). Admin calls need the bearer token. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../core/logger.js';
import { safeEqual } from './auth.js';
import { httpStatusOf, WireError } from '../contract/errors.js';
import { readJson, sendError, sendJson } from './http.js';
import type { RpcRouter } from './rpc.js';
import type { RelayService } from './service.js';

export interface ApiDeps {
  service: RelayService;
  rpc: RpcRouter;
  adminToken: string;
  log: Logger;
  /** how long to wait for a node's first answer (logs, twin) */
  rpcTimeoutMs?: number;
}

const seg = (s: string | undefined): string => decodeURIComponent(s ?? '');

function requireAdmin(req: IncomingMessage, token: string): void {
  const h = req.headers.authorization ?? '';
  const m = /^Bearer\s+(.+)$/i.exec(h);
  if (!m || !safeEqual(m[1]!.trim(), token)) throw new WireError('Unauthorized', 'missing or wrong admin token (Authorization: Bearer ...)');
}

export function createApi(d: ApiDeps): Server {
  const rpcTimeout = d.rpcTimeoutMs ?? 10_000;
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://relay');
    const parts = url.pathname.split('/').filter(Boolean);
    const method = req.method ?? 'GET';
    if (url.pathname === '/healthz') return sendJson(res, 200, { ok: true });
    if (parts[0] !== 'api' || parts[1] !== 'v1') throw new WireError('NotFound', `no route ${method} ${url.pathname}`);
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
        if (method === 'DELETE' && a) return sendJson(res, 200, d.service.deleteNode(seg(a)));
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

  const streamLogs = async (req: IncomingMessage, res: ServerResponse, url: URL, ns: string, pod: string): Promise<void> => {
    const node = d.service.nodeOf('Pod', ns, pod);
    const follow = url.searchParams.get('follow') === '1' || url.searchParams.get('follow') === 'true';
    const tail = url.searchParams.get('tail');
    const params: Record<string, unknown> = { namespace: ns, name: pod, follow };
    const container = url.searchParams.get('container');
    if (container) params.container = container;
    if (tail !== null) params.tail = Number(tail);
    const write = (data: unknown): void => {
      if (!res.headersSent) res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.write(typeof data === 'string' ? data : JSON.stringify(data));
    };
    const call = d.rpc.call(node, 'logs', params, write, { firstMs: rpcTimeout, idleMs: follow ? 0 : rpcTimeout });
    const onClose = (): void => call.cancel();
    res.on('close', onClose);
    try {
      await call.done;
      if (!res.headersSent) res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end();
    } finally {
      res.off('close', onClose);
    }
    void req;
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

  const server = createServer((req, res) => {
    route(req, res).catch((e: unknown) => {
      if (!(e instanceof WireError) || httpStatusOf(e.code) >= 500) d.log.debug('api error', { url: req.url, error: String(e) });
      sendError(res, e);
    });
  });
  return server;
}

export function listen(server: Server, port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const a = server.address() as AddressInfo;
      resolve(`http://${a.address === '0.0.0.0' || a.address === '::' ? '127.0.0.1' : a.address}:${a.port}`);
    });
  });
}
