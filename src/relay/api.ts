/**
 * The relay's private HTTP JSON API under /edge/v1 (routes in src/contract/api.ts): joining,
 * bootstrap tokens, and device telemetry history — what the Kubernetes API, served on the same
 * listener, has no place for. Admin calls need the bearer token.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EDGE_API_PREFIX } from '../contract/api.js';
import type { Logger } from '../core/logger.js';
import { safeEqual } from './auth.js';
import { httpStatusOf, WireError } from '../contract/errors.js';
import { readJson, sendError, sendJson } from './http.js';
import type { RelayService } from './service.js';

export interface ApiDeps {
  service: RelayService;
  adminToken: string;
  log: Logger;
}

function requireAdmin(req: IncomingMessage, token: string): void {
  const h = req.headers.authorization ?? '';
  const m = /^Bearer\s+(.+)$/i.exec(h);
  if (!m || !safeEqual(m[1]!.trim(), token)) throw new WireError('Unauthorized', 'missing or wrong admin token (Authorization: Bearer ...)');
}

/** True for the requests this API answers (everything else is the Kubernetes API's). */
export const isEdgeApiPath = (url: string | undefined): boolean => (url ?? '').startsWith(`${EDGE_API_PREFIX}/`);

export function createEdgeApi(d: ApiDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://relay');
    const parts = url.pathname.split('/').filter(Boolean);
    const method = req.method ?? 'GET';
    if (`/${parts[0]}/${parts[1]}` !== EDGE_API_PREFIX || parts.length !== 3) throw new WireError('NotFound', `no route ${method} ${url.pathname}`);
    const res1 = parts[2];
    if (res1 === 'join' && method === 'POST') return sendJson(res, 200, await d.service.join(await readJson(req), req.headers.host));
    requireAdmin(req, d.adminToken);
    if (res1 === 'tokens' && method === 'POST') {
      const body = (await readJson(req)) as { ttlSeconds?: unknown };
      return sendJson(res, 201, d.service.createToken(body.ttlSeconds));
    }
    if (res1 === 'telemetry' && method === 'GET') {
      const limit = Number(url.searchParams.get('limit') ?? 1000);
      return sendJson(res, 200, d.service.telemetry(url.searchParams.get('node') ?? undefined, Number.isInteger(limit) && limit > 0 ? Math.min(limit, 100_000) : 1000));
    }
    throw new WireError('NotFound', `no route ${method} ${url.pathname} (objects, nodes, logs and twins are the Kubernetes API's: kubectl)`);
  };

  return (req, res) => {
    route(req, res).catch((e: unknown) => {
      if (!(e instanceof WireError) || httpStatusOf(e.code) >= 500) d.log.debug('api error', { url: req.url, error: String(e) });
      sendError(res, e);
    });
  };
}
