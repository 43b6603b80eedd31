/**
 * The edge bootstrap routes (paths in src/contract/join.ts), answered with Kubernetes Status
 * objects on error:
 *
 * - `GET /edge/v1/ca`: the CA certificate, unauthenticated — a joining node checks it against
 *   the `--ca-hash` it was given before it sends anything.
 * - `POST /edge/v1/join`: bootstrap token → node credentials. Failed attempts are limited per
 *   source address; every attempt is audited (source, node name, outcome, and for the token only
 *   the first 8 hex digits of its SHA-256 — never the token itself).
 * - `POST /edge/v1/tokens`: admin only; a bootstrap token with the full join command.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TokenCreated } from '../contract/api.js';
import { EDGE_PATHS, joinCommand } from '../contract/join.js';
import type { Status, StatusReason } from '../contract/kube/types.js';
import { httpStatusOf, WireError, wireErrorOf } from '../contract/errors.js';
import type { Logger } from '../core/logger.js';
import { sha256 } from './auth.js';
import { readJson } from './http.js';
import { sourceKey, type FailureLimiter } from './ratelimit.js';
import type { RelayService } from './service.js';
import { authorize, forbiddenMessage, type Attributes } from './apiserver/authz.js';
import type { ApiTokens } from './tokens.js';

export interface EdgeDeps {
  service: RelayService;
  tokens: ApiTokens;
  /** the CA nodes pin; undefined when the API runs plain HTTP */
  ca: { pem: string; hash: string } | undefined;
  /** api.publicUrl ('' = from the request's Host header) */
  publicUrl: string;
  scheme: 'https' | 'http';
  limiter: FailureLimiter;
  audit: Logger;
}

const REASONS: Record<number, StatusReason> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'AlreadyExists',
  413: 'RequestEntityTooLarge',
  422: 'Invalid',
  429: 'TooManyRequests',
};

export function statusBody(code: number, message: string, details?: Status['details']): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: REASONS[code] ?? 'InternalError', ...(details ? { details } : {}), code };
}

function sendStatus(res: ServerResponse, s: Status, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(s);
  res.writeHead(s.code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendOk(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Any error as a Status: the contract's code gives the HTTP status, field issues become causes. */
export function statusOf(e: unknown): Status {
  const w = wireErrorOf(e, 'Internal');
  const causes = w.issues?.map((i) => ({ field: i.path, message: i.reason, reason: 'FieldValueInvalid' }));
  return statusBody(httpStatusOf(w.code), w.message, causes ? { kind: 'join', causes } : undefined);
}

/** The token's audit name: a prefix of its SHA-256 (matches the stored hash's prefix). */
export const tokenRef = (token: unknown): string => (typeof token === 'string' && token ? `sha256:${sha256(token).slice(0, 8)}` : 'none');

/** The body as a JSON object: `null`, an array or a scalar is refused (400), never read field by field. */
async function readObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const v = await readJson(req, 16 * 1024);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new WireError('BadJson', 'the body must be a JSON object');
  return v as Record<string, unknown>;
}

export function createEdgeRoutes(d: EdgeDeps): (req: IncomingMessage, res: ServerResponse, path: string) => Promise<void> {
  const join = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const source = req.socket.remoteAddress ?? 'unknown';
    const key = sourceKey(source);
    const wait = d.limiter.take(key);
    if (wait !== undefined) {
      d.audit.warn('join attempt', { source, node: null, token: null, outcome: 'rate-limited', code: 429 });
      req.resume();
      return sendStatus(res, statusBody(429, `too many failed join attempts from ${source}; retry in ${wait} s`, { retryAfterSeconds: wait }), { 'retry-after': String(wait) });
    }
    let body: { token?: unknown; node?: unknown } = {};
    try {
      body = await readObject(req);
      const out = await d.service.join(body, req.headers.host);
      d.limiter.refund(key);
      d.audit.info('join attempt', { source, node: out.response.node, token: tokenRef(body.token), outcome: out.rejoined ? 'rejoined' : 'joined', code: 200 });
      return sendOk(res, 200, out.response);
    } catch (e) {
      const s = statusOf(e);
      // a bad token, a bad body or a taken name all cost the credit; a server fault does not
      if (s.code >= 500) d.limiter.refund(key);
      // an attacker's name: quoted (escaped) unless it is a plain DNS label, so no log line can be forged
      const raw = typeof body?.node === 'string' ? body.node.slice(0, 63) : null;
      const node = raw === null || /^[a-z0-9-]*$/.test(raw) ? raw : JSON.stringify(raw);
      d.audit.warn('join attempt', { source, node, token: tokenRef(body?.token), outcome: s.reason ?? 'error', code: s.code });
      return sendStatus(res, s);
    }
  };

  const createToken = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const who = d.tokens.authenticate(req.headers.authorization);
    if (!who) return sendStatus(res, statusBody(401, 'Unauthorized'));
    const access: Attributes = { verb: 'create', group: '', resource: 'tokens' };
    if (authorize(who, access, undefined).allowed !== true) return sendStatus(res, statusBody(403, forbiddenMessage(who, access)));
    const body = await readObject(req);
    const t = await d.service.createToken(body.ttlSeconds);
    const relayUrl = d.publicUrl || `${d.scheme}://${req.headers.host ?? '127.0.0.1'}`;
    const out: TokenCreated = { ...t, ...(d.ca ? { caHash: d.ca.hash } : {}), joinCommand: joinCommand({ relayUrl, token: t.token, ...(d.ca ? { caHash: d.ca.hash } : {}) }) };
    return sendOk(res, 201, out);
  };

  return async (req, res, path) => {
    const method = req.method ?? 'GET';
    try {
      if (path === EDGE_PATHS.ca && (method === 'GET' || method === 'HEAD')) {
        if (!d.ca) return sendStatus(res, statusBody(404, 'the API runs plain HTTP (api.tls.enabled: false): there is no CA'));
        res.writeHead(200, { 'content-type': 'application/x-pem-file', 'content-length': Buffer.byteLength(d.ca.pem) });
        return void res.end(method === 'HEAD' ? undefined : d.ca.pem);
      }
      if (path === EDGE_PATHS.join && method === 'POST') return await join(req, res);
      if (path === EDGE_PATHS.tokens && method === 'POST') return await createToken(req, res);
      return sendStatus(res, statusBody(404, `no route ${method} ${path}`));
    } catch (e) {
      if (!res.headersSent) sendStatus(res, statusOf(e));
      else res.destroy();
    }
  };
}
