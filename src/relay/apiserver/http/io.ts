/**
 * Reading request bodies (size-limited; JSON, or YAML for apply and create) and writing answers:
 * JSON or YAML bodies, Status errors with their HTTP code, and `Warning: 299` headers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { badRequest, tooLarge, unsupportedMediaType } from '../../../contract/kube/status.js';
import type { Status } from '../../../contract/kube/types.js';
import { nestedDeeperThan } from '../../../lib/json.js';
import { decodeKubeProtobuf, PROTOBUF_CONTENT_TYPE } from '../protobuf/decode.js';

/** kube-apiserver's default request body limit */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw tooLarge(`the request body is ${declared} bytes; at most ${limit} are accepted`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) {
      req.destroy();
      throw tooLarge(`the request body exceeds ${limit} bytes`);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

const baseType = (ct: string | undefined): string => (ct ?? '').split(';')[0]!.trim().toLowerCase();

/**
 * How deep a body may nest. Go's JSON decoder stops at 10,000; objects nest ~20 levels, and the
 * code that walks a body (validation, patch, apply, field sets) recurses: checked right after
 * decoding, so nothing deeper reaches it.
 */
export const MAX_BODY_DEPTH = 100;

/** The body as a value: JSON, YAML when the Content-Type says so (apply-patch+yaml carries JSON too, which YAML reads), or Kubernetes protobuf (kubectl's typed clients). */
export async function readValue(req: IncomingMessage, opts: { allowEmpty?: boolean } = {}): Promise<unknown> {
  const v = await decodeValue(req, opts);
  if (nestedDeeperThan(v, MAX_BODY_DEPTH)) throw badRequest(`the request body nests deeper than ${MAX_BODY_DEPTH} levels`);
  return v;
}

async function decodeValue(req: IncomingMessage, opts: { allowEmpty?: boolean }): Promise<unknown> {
  const buf = await readBody(req);
  const type = baseType(req.headers['content-type']);
  if (buf.length === 0) {
    if (opts.allowEmpty) return undefined;
    throw badRequest('the request has no body');
  }
  if (type === PROTOBUF_CONTENT_TYPE) return decodeKubeProtobuf(buf);
  const text = buf.toString('utf8');
  if (type === 'application/yaml' || type === 'application/apply-patch+yaml') {
    try {
      return parseYaml(text, { maxAliasCount: 100 }) as unknown;
    } catch (e) {
      throw badRequest(`error decoding YAML: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (type && type !== 'application/json' && !type.endsWith('+json') && type !== '*/*') {
    throw unsupportedMediaType(`the body of the request was in an unknown format (${type}) - accepted media types include: application/json, application/yaml`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw badRequest(`couldn't decode the request body as JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * `299 - "text"` per warning. A header value carries printable ASCII only (node refuses anything
 * else, and so would the request's answer: a 500): what a client sent back to it — an unknown
 * field named with a control character or invalid UTF-8 — is shown as `?` (issue 18, found by the fuzzer).
 */
function warningHeader(warnings: readonly string[]): string[] {
  return warnings.map((w) => `299 - ${JSON.stringify(w.replace(/[\r\n]/g, ' ').replace(/[^\x20-\x7e]/g, '?'))}`);
}

export function send(res: ServerResponse, code: number, body: unknown, opts: { contentType?: string; warnings?: readonly string[]; yaml?: boolean; headers?: Record<string, string> } = {}): void {
  const text = Buffer.isBuffer(body) ? body : opts.yaml ? stringifyYaml(body) : typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string | string[]> = {
    'content-type': opts.contentType ?? (opts.yaml ? 'application/yaml' : 'application/json'),
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-cache, private',
    ...(opts.headers ?? {}),
  };
  if (opts.warnings?.length) headers.warning = warningHeader(opts.warnings);
  res.writeHead(code, headers);
  res.end(text);
}

export function sendStatus(res: ServerResponse, status: Status, warnings?: readonly string[]): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  send(res, status.code, status, { ...(warnings ? { warnings } : {}) });
}

export function sendText(res: ServerResponse, code: number, text: string): void {
  res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), 'cache-control': 'no-cache, private' });
  res.end(text);
}

export { warningHeader };
