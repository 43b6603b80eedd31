/**
 * A `fetch` over node:http(s) that takes a CA (or, for the one request that fetches a CA to be
 * checked against a pinned hash, no verification at all). Node 20's global fetch cannot be given
 * a CA without the undici package; this keeps the callers (edgectl, `edgecore join`) on the
 * fetch interface. Failures reject like fetch does: TypeError('fetch failed', { cause }).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';

export interface TlsFetchOptions {
  /** PEM CA(s) to trust instead of the system's */
  ca?: string | Buffer;
  /** no certificate or host name check: only to fetch a CA that is then checked against a hash */
  insecureSkipVerify?: boolean;
}

function headerRecord(h: RequestInit['headers']): Record<string, string> {
  if (!h) return {};
  if (h instanceof Headers) return Object.fromEntries(h.entries());
  if (Array.isArray(h)) return Object.fromEntries(h);
  return { ...(h as Record<string, string>) };
}

function toResponse(res: IncomingMessage): Response {
  const headers = new Headers();
  for (const [k, v] of Object.entries(res.headers)) {
    if (Array.isArray(v)) for (const x of v) headers.append(k, x);
    else if (v !== undefined) headers.set(k, v);
  }
  const status = res.statusCode ?? 0;
  const empty = status === 204 || status === 304;
  if (empty) res.resume();
  return new Response(empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), { status, statusText: res.statusMessage ?? '', headers });
}

export function tlsFetch(o: TlsFetchOptions = {}): typeof fetch {
  const f = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> =>
    new Promise((resolve, reject) => {
      const url = new URL(input instanceof Request ? input.url : input);
      const body = init.body;
      if (body !== undefined && body !== null && typeof body !== 'string' && !(body instanceof Uint8Array)) {
        reject(new TypeError('tlsFetch: body must be a string or bytes'));
        return;
      }
      const headers = headerRecord(init.headers);
      // node:http sends a DELETE's (or GET's) body with neither length nor chunking unless told its length
      if (body !== undefined && body !== null && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) headers['content-length'] = String(Buffer.byteLength(body));
      const opts = {
        method: init.method ?? 'GET',
        headers,
        agent: false as const,
        ...(url.protocol === 'https:' ? { ca: o.ca, rejectUnauthorized: !o.insecureSkipVerify } : {}),
      };
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, opts, (res) => resolve(toResponse(res)));
      const fail = (e: unknown): void => reject(new TypeError('fetch failed', { cause: e }));
      req.on('error', fail);
      const signal = init.signal;
      if (signal) {
        if (signal.aborted) req.destroy(signal.reason as Error);
        else signal.addEventListener('abort', () => req.destroy(Object.assign(new Error('This operation was aborted'), { name: 'AbortError' })), { once: true });
      }
      req.end(body ?? undefined);
    });
  return f as typeof fetch;
}
