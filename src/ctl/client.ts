/**
 * edgectl's HTTP client for the relay: its Kubernetes API (devices) and its private /edge/v1
 * routes (tokens, telemetry), with the admin token. Errors of either kind — a Kubernetes Status or
 * the contract's `{error}` body — become an ApiError with the server's message and field paths.
 */
import { wireErrorSchema, type WireErrorBody } from '../contract/errors.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: { path: string; reason: string }[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ClientOptions {
  server: string;
  token: string;
  fetchImpl?: typeof fetch;
}

/** The error a non-2xx answer carries: a Kubernetes Status, the contract's `{error}`, or its text. */
export function errorOf(status: number, text: string, statusText: string): ApiError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return new ApiError(status, String(status), text || statusText);
  }
  const b = (body ?? {}) as { kind?: unknown; message?: unknown; reason?: unknown; details?: { causes?: { field?: string; message?: string }[] }; error?: unknown };
  if (b.kind === 'Status' && typeof b.message === 'string') {
    const issues = (b.details?.causes ?? []).filter((c) => c.field).map((c) => ({ path: c.field!, reason: c.message ?? '' }));
    return new ApiError(status, typeof b.reason === 'string' ? b.reason : String(status), b.message, issues);
  }
  const w = wireErrorSchema.safeParse(b.error);
  if (w.success) {
    const e: WireErrorBody = w.data;
    return new ApiError(status, e.code, e.message, e.issues ?? []);
  }
  return new ApiError(status, String(status), text || statusText);
}

export class RelayClient {
  private readonly f: typeof fetch;
  constructor(private readonly o: ClientOptions) {
    this.f = o.fetchImpl ?? fetch;
  }

  private url(path: string): string {
    return this.o.server.replace(/\/+$/, '') + path;
  }

  async json<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    let res: Response;
    try {
      res = await this.f(this.url(path), {
        method,
        headers: { authorization: `Bearer ${this.o.token}`, accept: 'application/json', ...(body !== undefined ? { 'content-type': contentType } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      const tlsHint = /CERT|SIGNATURE|SELF_SIGNED/.test(cause?.code ?? '') ? ' (the relay\'s CA: --ca-file, EDGECTL_CA_FILE or caFile:)' : '';
      throw new ApiError(0, 'Unreachable', `cannot reach the relay at ${this.o.server}: ${cause?.code ?? cause?.message ?? (e as Error).message}${tlsHint}`);
    }
    const text = await res.text();
    if (!res.ok) throw errorOf(res.status, text, res.statusText);
    return JSON.parse(text) as T;
  }
}
