/**
 * Which PostgreSQL client errors are the server being away rather than a verdict on the request:
 * the socket's own errors, node-postgres' messages for a cut connection, and the SQLSTATEs of a
 * connection exception (class 08), a server shutting down or starting (57P01–57P03), too many
 * connections (53300), and a transaction the server aborted to be run again (40001, 40P01), or
 * ended because its session sat idle inside it (25P03: pg-session.ts).
 */
import { StoreUnavailableError } from './objects.js';

const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);
const SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '40001', '40P01', '25P03']);
const CUT = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Query read timeout)/;

export function pgUnavailable(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if (e instanceof AggregateError) return e.errors.some(pgUnavailable);
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && (SOCKET_CODES.has(code) || SQLSTATES.has(code) || code.startsWith('08'))) return true;
  return CUT.test(e.message);
}

/** `e` as the store reports it: StoreUnavailableError when the server was away, else as it is. */
export const pgError = (e: unknown): unknown => (pgUnavailable(e) ? new StoreUnavailableError(e) : e);
