/** edgectl's HTTP client for the relay API (the only thing edgectl talks to). */
import { wireErrorSchema, type WireErrorBody } from '../contract/errors.js';
import type { Status } from '../contract/kube/types.js';

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
      const tlsHint = /CERT|SIGNATURE|SELF_SIGNED/.test(cause?.code ?? '') ? ' (the relay\'s CA: --ca-file, EDGECTL_CA_FILE or caFile:)' : '';
      throw new ApiError(0, 'Unreachable', `cannot reach the relay at ${this.o.server}: ${cause?.code ?? cause?.message ?? (e as Error).message}${tlsHint}`);
    }
    if (!res.ok) {
      const text = await res.text();
      let err: WireErrorBody | undefined;
      try {
        const b = JSON.parse(text) as { error?: unknown } & Partial<Status>;
        const body = wireErrorSchema.safeParse(b?.error);
        if (body.success) err = body.data;
        // the edge bootstrap routes (tokens, join) answer a Kubernetes Status
        else if (b?.kind === 'Status') err = { code: b.code === 403 ? 'Forbidden' : b.code === 401 ? 'Unauthorized' : 'Failed', message: b.message ?? res.statusText };
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
