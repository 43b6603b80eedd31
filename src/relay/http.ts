/** Small HTTP helpers for the relay API: JSON bodies, errors → the contract's codes and their HTTP statuses. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiErrorBody } from '../contract/api.js';
import { httpStatusOf, WireError, wireErrorOf } from '../contract/errors.js';
import { errorMessage } from '../core/errors.js';

export async function readJson(req: IncomingMessage, limit = 4 * 1024 * 1024): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new WireError('TooLarge', `body over ${limit} bytes`);
    chunks.push(c as Buffer);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch (e) {
    throw new WireError('BadJson', `body is not JSON: ${errorMessage(e)}`);
  }
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
