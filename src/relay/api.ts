/**
 * The relay's private HTTP JSON API under /edge/v1 (routes in src/contract/api.ts): device
 * telemetry history and the desired version each node should hold — what the Kubernetes API,
 * served on the same listener, has no place for
 * (joining and bootstrap tokens are src/relay/edge.ts). Every route needs a bearer token
 * (src/relay/tokens.ts), authorized by the API server's policy: the admin and the read-only
 * token read both.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type DesiredVersions, EDGE_API_PREFIX } from '../contract/api.js';
import type { Logger } from '../core/logger.js';
import { httpStatusOf, WireError } from '../contract/errors.js';
import { sendError, sendJson } from './http.js';
import type { RelayService } from './service.js';
import { authorize as policy, forbiddenMessage, type Attributes } from './apiserver/authz.js';
import type { ApiTokens } from './tokens.js';

export interface ApiDeps {
  service: RelayService;
  tokens: ApiTokens;
  /** the node sync's published versions */
  desired: () => DesiredVersions;
  log: Logger;
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
    const who = d.tokens.authenticate(req.headers.authorization);
    if (!who) throw new WireError('Unauthorized', 'missing or wrong token (Authorization: Bearer ...)');
    if (res1 === 'telemetry' && method === 'GET') {
      const access: Attributes = { verb: 'list', group: '', resource: 'telemetry' };
      if (policy(who, access, undefined).allowed !== true) throw new WireError('Forbidden', forbiddenMessage(who, access));
      const limit = Number(url.searchParams.get('limit') ?? 1000);
      return sendJson(res, 200, d.service.telemetry(url.searchParams.get('node') ?? undefined, Number.isInteger(limit) && limit > 0 ? Math.min(limit, 100_000) : 1000));
    }
    if (res1 === 'desired' && method === 'GET') {
      const access: Attributes = { verb: 'list', group: '', resource: 'nodes' };
      if (policy(who, access, undefined).allowed !== true) throw new WireError('Forbidden', forbiddenMessage(who, access));
      return sendJson(res, 200, d.desired());
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
