/**
 * Who a request is: bearer tokens (the admin token, the read-only token), compared in constant
 * time. Over plain HTTP with `api.insecureLocalAdmin`, a loopback request without a token is
 * admin (kubectl sends no token over http://) — for local debugging and tests only. The TLS
 * listener's owner may supply its own `authenticate`; this one is the default.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { safeEqual } from '../auth.js';
import { ADMIN, READ_ONLY, type Identity } from './authz.js';
import type { Authenticate } from './http/server.js';

export interface TokenAuthOptions {
  adminToken: string;
  readOnlyToken?: string;
  insecureLocalAdmin?: boolean;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

export function bearerToken(req: IncomingMessage): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return m?.[1];
}

export function tokenAuthenticator(o: TokenAuthOptions): Authenticate {
  return (req): Identity | undefined => {
    const token = bearerToken(req);
    if (token !== undefined) {
      if (o.adminToken && safeEqual(token, o.adminToken)) return ADMIN;
      if (o.readOnlyToken && safeEqual(token, o.readOnlyToken)) return READ_ONLY;
      return undefined;
    }
    const tls = !!(req.socket as TLSSocket).encrypted;
    if (o.insecureLocalAdmin && !tls && LOOPBACK.test(req.socket.remoteAddress ?? '')) return ADMIN;
    return undefined;
  };
}
