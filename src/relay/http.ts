/** Small HTTP helpers for the relay API: JSON bodies, typed errors → status codes. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiErrorBody } from '../contract/api.js';
import { errorMessage, isConflictError, isNotFoundError, isValidationError } from '../core/errors.js';
import { RpcError } from './rpc.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function readJson(req: IncomingMessage, limit = 4 * 1024 * 1024): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new HttpError(413, 'TooLarge', `body over ${limit} bytes`);
    chunks.push(c as Buffer);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch (e) {
    throw new HttpError(400, 'BadJson', `body is not JSON: ${errorMessage(e)}`);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function errorBody(e: unknown): { status: number; body: ApiErrorBody } {
  if (e instanceof HttpError) return { status: e.status, body: { error: { code: e.code, message: e.message } } };
  if (isValidationError(e)) return { status: 422, body: { error: { code: 'Invalid', message: e.message, issues: e.issues } } };
  if (isNotFoundError(e)) return { status: 404, body: { error: { code: 'NotFound', message: e.message } } };
  if (isConflictError(e)) return { status: 409, body: { error: { code: 'Conflict', message: e.message } } };
  if (e instanceof RpcError) {
    const status = e.code === 'Timeout' ? 504 : e.code === 'NotFound' ? 404 : e.code === 'Invalid' ? 422 : e.code === 'NotImplemented' ? 501 : 502;
    return { status, body: { error: { code: e.code, message: e.message, ...(e.issues ? { issues: e.issues } : {}) } } };
  }
  return { status: 500, body: { error: { code: 'Internal', message: errorMessage(e) } } };
}

export function sendError(res: ServerResponse, e: unknown): void {
  const { status, body } = errorBody(e);
  if (res.headersSent) {
    res.end(`\nerror: ${body.error.message}\n`);
    return;
  }
  sendJson(res, status, body);
}
