/**
 * The local list/watch API for apps on the node (loopback HTTP, read-only):
 *   GET /healthz
 *   GET /api/v1/{kind}[?namespace=NS]           -> {"items":[...]}
 *   GET /api/v1/{kind}/{namespace}/{name}       -> the object, or 404
 *   GET /api/v1/{kind}[?namespace=NS]&watch=1   -> NDJSON: one {"type":"ADDED|MODIFIED|DELETED","object":...}
 *                                                 per change, starting with ADDED for every current object
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../../core/logger.js';
import type { ResourceStore, StoredResource } from '../../store/resources.js';

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export function startLocalApi(resources: ResourceStore, host: string, port: number, log: Logger): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://local');
    if (req.method !== 'GET') return sendJson(res, 405, { error: 'read-only API: use GET' });
    if (url.pathname === '/healthz') return sendJson(res, 200, { ok: true });
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts[0] !== 'api' || parts[1] !== 'v1' || !parts[2]) return sendJson(res, 404, { error: 'unknown path' });
    const kind = decodeURIComponent(parts[2]);
    if (parts.length === 5) {
      const r = resources.get({ kind, namespace: decodeURIComponent(parts[3]!), name: decodeURIComponent(parts[4]!) });
      return r ? sendJson(res, 200, r) : sendJson(res, 404, { error: `${kind} ${parts[3]}/${parts[4]} not found` });
    }
    if (parts.length !== 3) return sendJson(res, 404, { error: 'unknown path' });
    const ns = url.searchParams.get('namespace') ?? undefined;
    const matches = (r: StoredResource): boolean => r.kind === kind && (ns === undefined || r.namespace === ns);
    if (!url.searchParams.has('watch')) return sendJson(res, 200, { items: resources.list(kind, ns) });
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    const write = (type: string, object: StoredResource): void => {
      res.write(JSON.stringify({ type, object }) + '\n');
    };
    for (const r of resources.list(kind, ns)) write('ADDED', r);
    const off = resources.onChange((c) => {
      if (!matches(c.resource)) return;
      if (c.op === 'delete') write('DELETED', c.resource);
      else write(c.op === 'upsert' && !c.previous ? 'ADDED' : 'MODIFIED', c.resource);
    });
    req.on('close', off);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      server.on('error', (e) => log.error('local API error', { error: e }));
      resolve(server);
    });
  });
}
