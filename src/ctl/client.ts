/** edgectl's HTTP client for the relay API (the only thing edgectl talks to). */
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

export class RelayClient {
  private readonly f: typeof fetch;
  constructor(private readonly o: ClientOptions) {
    this.f = o.fetchImpl ?? fetch;
  }

  private url(path: string): string {
    return this.o.server.replace(/\/+$/, '') + path;
  }

  async raw(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    let res: Response;
    try {
      res = await this.f(this.url(path), {
        method,
        headers: { authorization: `Bearer ${this.o.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        ...(signal ? { signal } : {}),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new ApiError(0, 'Unreachable', `cannot reach the relay at ${this.o.server}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
    }
    if (!res.ok) {
      const text = await res.text();
      let err: WireErrorBody | undefined;
      try {
        const body = wireErrorSchema.safeParse((JSON.parse(text) as { error?: unknown } | null)?.error);
        if (body.success) err = body.data;
      } catch {
        /* not JSON */
      }
      throw new ApiError(res.status, err?.code ?? String(res.status), err?.message ?? (text || res.statusText), err?.issues ?? []);
    }
    return res;
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.raw(method, path, body);
    return (await res.json()) as T;
  }
}
