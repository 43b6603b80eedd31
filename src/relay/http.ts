/** Small HTTP helpers for the relay API: JSON bodies, errors → the contract's codes and their HTTP statuses. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiErrorBody } from '../contract/api.js';
import { httpStatusOf, WireError, wireErrorOf } from '../contract/errors.js';
import { errorMessage } from '../core/errors.js';
import { nestedDeeperThan } from '../lib/json.js';

/** The largest body the private routes take (an applied manifest: as the Kubernetes API's 3 MiB). */
export const MAX_JSON_BYTES = 3 * 1024 * 1024;
/** How deep a body may nest (a manifest nests ~10 levels; code that walks a body recurses) */
export const MAX_JSON_DEPTH = 64;

/**
 * A JSON request body, bounded: a declared Content-Length over `limit` is refused before a byte
 * is read, a body that grows past it while streaming is refused there, and so is one nesting
 * deeper than MAX_JSON_DEPTH.
 */
export async function readJson(req: IncomingMessage, limit = MAX_JSON_BYTES): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new WireError('TooLarge', `body of ${declared} bytes is over ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new WireError('TooLarge', `body over ${limit} bytes`);
    chunks.push(c as Buffer);
  }
  if (size === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch (e) {
    throw new WireError('BadJson', `body is not JSON: ${errorMessage(e)}`);
  }
  if (nestedDeeperThan(v, MAX_JSON_DEPTH)) throw new WireError('BadJson', `body nests deeper than ${MAX_JSON_DEPTH} levels`);
  return v;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function errorBody(e: unknown): { status: number; body: ApiErrorBody } {
  const error = wireErrorOf(e, 'Internal');
  return { status: httpStatusOf(error.code), body: { error } };
}

export function sendError(res: ServerResponse, e: unknown): void {
  const { status, body } = errorBody(e);
  if (res.headersSent) {
    res.end(`\nerror: ${body.error.message}\n`);
    return;
  }
  sendJson(res, status, body);
}
