/**
 * Who a request is: the bearer tokens (admin, read-only) as src/relay/tokens.ts checks them —
 * constant time, re-read when rotated. Over plain HTTP with `api.insecureLocalAdmin` (allowed only
 * with `api.tls.enabled: false`), a loopback request without a token is admin (kubectl sends no
 * token over http://) — for local debugging only.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { ADMIN, type Identity } from './authz.js';
import type { Authenticate } from './http/server.js';

export interface TokenAuthOptions {
  /** the relay's API tokens (`ApiTokens`): `Authorization` header → identity */
  tokens: { authenticate(authorization: string | undefined): Identity | undefined };
  insecureLocalAdmin?: boolean;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

export function tokenAuthenticator(o: TokenAuthOptions): Authenticate {
  return (req: IncomingMessage): Identity | undefined => {
    if (req.headers.authorization !== undefined) return o.tokens.authenticate(req.headers.authorization);
    const tls = !!(req.socket as TLSSocket).encrypted;
    if (o.insecureLocalAdmin && !tls && LOOPBACK.test(req.socket.remoteAddress ?? '')) return ADMIN;
    return undefined;
  };
}
