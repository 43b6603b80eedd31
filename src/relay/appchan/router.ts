/**
 * KubeEdge's router listener (docs/appchannel.md): `<METHOD> /<node>/<namespace>/<path>[/suffix][?query]`
 * reaches the rest-source rule of `namespace` whose path starts the request's, and through it an
 * app on `node`. Answers as KubeEdge's do — an eventbus target `200 message delivered` (queued
 * for a connected node), a servicebus target the app's own status, headers and body — plus
 * `202` with the message id when a rule holds the message for a node that is away. Unlike
 * KubeEdge's it wants a bearer token (the admin token) unless `allowAnonymous` is set, matches
 * whole path segments only, and never passes the caller's Authorization on to the app.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { Authenticate } from '../apiserver/http/server.js';
import { parseDuration } from '../kinds/rule.js';
import type { Downlink, DownResult } from './downlink.js';
import { matchDown, type RouteTable } from './routes.js';

export interface RouterDeps {
  routes: () => RouteTable;
  downlink: Downlink;
  /** undefined: anyone may call (KubeEdge's behaviour; trusted networks only) */
  authenticate?: Authenticate;
  maxBodyBytes: number;
  log: Logger;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** never passed on to an app */
const DROP_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'host', 'upgrade', 'proxy-connection', 'te', 'trailer', 'authorization', 'x-edgecore-ttl']);

function text(res: ServerResponse, code: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n <= max) parts.push(c);
    });
    req.on('end', () => resolve(n > max ? undefined : Buffer.concat(parts)));
    req.on('error', reject);
  });
}

export function routerHandler(d: RouterDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const answer = (res: ServerResponse, r: DownResult): void => {
    if (r.kind === 'refused') return text(res, r.status, `${r.reason}\n`);
    if (r.kind === 'reply') {
      res.writeHead(r.status, { ...r.headers, 'content-length': r.body.length });
      res.end(r.body);
      return;
    }
    const headers = { 'x-edgecore-message-id': String(r.id), 'x-edgecore-expires': new Date(r.expires).toISOString() };
    if (r.held) return text(res, 202, `message queued until ${headers['x-edgecore-expires']}: the node is away\n`, headers);
    return text(res, 200, 'message delivered', headers);
  };
  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (d.authenticate) {
      const id = await d.authenticate(req);
      if (!id) return text(res, 401, 'Unauthorized: a bearer token is required\n');
      if (id.kind !== 'admin' && id.kind !== 'controller') return text(res, 403, `Forbidden: ${id.user} may not send messages to nodes\n`);
    }
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const query = q >= 0 ? raw.slice(q) : '';
    let parts: string[];
    try {
      parts = (q >= 0 ? raw.slice(0, q) : raw).split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      return text(res, 400, 'malformed %-escape in the path\n');
    }
    const [node, namespace, ...rest] = parts;
    if (!node || !namespace || rest.length === 0) return text(res, 404, 'Request error: the path must be /<node>/<namespace>/<path>\n');
    if (!DNS_LABEL.test(node)) return text(res, 400, `"${node}" is not a node name\n`);
    const hit = matchDown(d.routes(), 'rest', namespace, rest.join('/'));
    if (!hit) return text(res, 404, `Request error: no rule of namespace ${namespace} routes /${rest.join('/')}\n`);
    const ttlHeader = req.headers['x-edgecore-ttl'];
    const ttlMs = typeof ttlHeader === 'string' ? parseDuration(ttlHeader) : undefined;
    if (typeof ttlHeader === 'string' && !ttlMs) return text(res, 400, 'X-Edgecore-TTL must be a duration such as 30s or 1h\n');
    const body = await readBody(req, d.maxBodyBytes);
    if (!body) return text(res, 413, `the body is over ${d.maxBodyBytes} bytes\n`);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !DROP_HEADERS.has(k)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    const r = await d.downlink.submit(hit.route, node, hit.suffix, { method: req.method ?? 'POST', headers, body, query, ...(ttlMs ? { ttlMs } : {}), wantReply: true });
    answer(res, r);
  };
  return (req, res) => {
    serve(req, res).catch((e) => {
      d.log.warn('router request failed', { url: req.url, error: errorMessage(e) });
      if (!res.headersSent) text(res, 500, `${errorMessage(e)}\n`);
      else res.destroy();
    });
  };
}
