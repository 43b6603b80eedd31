/**
 * The few Docker Engine API calls edged makes, over the engine's unix socket with node:http (one
 * keep-alive agent). Replaces dockerode, whose bundle carried gRPC and protobuf for BuildKit
 * sessions edged never opens (~1.1 MB of code, measured in docs/benchmarks.md). Paths and bodies
 * are the Engine API's (https://docs.docker.com/engine/api/); no version prefix: the engine's own.
 */
import { Agent, request, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

/** An error answer of the engine; `statusCode` is its HTTP status (read with hasStatus). */
export class EngineError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

type Query = Record<string, string | number | boolean | undefined>;

interface Call {
  method: 'GET' | 'POST' | 'DELETE' | 'HEAD';
  path: string;
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
}

function qs(q: Query | undefined): string {
  const parts = Object.entries(q ?? {})
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(typeof v === 'boolean' ? (v ? '1' : '0') : String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

async function readAll(res: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of res) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

async function failure(res: IncomingMessage): Promise<EngineError> {
  const text = (await readAll(res)).toString('utf8');
  let message = text.trim();
  try {
    message = (JSON.parse(text) as { message?: string }).message ?? message;
  } catch {
    /* plain text */
  }
  return new EngineError(res.statusCode ?? 0, message || `HTTP ${res.statusCode}`);
}

export class DockerApi {
  private readonly agent = new Agent({ keepAlive: true, maxFreeSockets: 2 });

  constructor(private readonly socketPath: string) {}

  /** The response of a call (status < 400), unread. */
  stream(c: Call): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const body = c.body === undefined ? undefined : Buffer.from(JSON.stringify(c.body));
      const req = request(
        {
          socketPath: this.socketPath,
          agent: this.agent,
          method: c.method,
          path: c.path + qs(c.query),
          headers: { ...(body ? { 'content-type': 'application/json', 'content-length': body.length } : {}), ...c.headers },
        },
        (res) => {
          if ((res.statusCode ?? 0) >= 400) failure(res).then(reject, reject);
          else resolve(res);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /** A call's JSON answer (undefined when there is no body). */
  async json<T>(c: Call): Promise<T> {
    const res = await this.stream(c);
    const text = (await readAll(res)).toString('utf8');
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** A call whose answer carries no data; resolves with its status (e.g. 204, or 304 "not modified"). */
  async call(c: Call): Promise<number> {
    const res = await this.stream(c);
    res.resume();
    await new Promise((r) => res.once('end', r).once('close', r));
    return res.statusCode ?? 0;
  }

  /**
   * A call that takes the connection over (exec start, attach): the raw socket after the engine's
   * "101 UPGRADED", in both directions.
   */
  upgrade(c: Call): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      // no body unless the call has one: bytes after the headers could reach the container's stdin
      const body = c.body === undefined ? undefined : Buffer.from(JSON.stringify(c.body));
      const req = request({
        socketPath: this.socketPath,
        method: c.method,
        path: c.path + qs(c.query),
        headers: { ...(body ? { 'content-type': 'application/json', 'content-length': body.length } : {}), connection: 'Upgrade', upgrade: 'tcp' },
      });
      req.on('upgrade', (_res, socket, head) => {
        if (head.length) socket.unshift(head);
        resolve(socket);
      });
      req.on('response', (res) => ((res.statusCode ?? 0) >= 400 ? failure(res).then(reject, reject) : reject(new EngineError(res.statusCode ?? 0, 'the engine did not take the connection over'))));
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Engine streams of JSON records, one per line (events, pull progress): each record to `on`. */
export async function eachJsonLine(stream: NodeJS.ReadableStream, on: (record: Record<string, unknown>) => void): Promise<void> {
  let rest = '';
  for await (const chunk of stream) {
    rest += (chunk as Buffer).toString('utf8');
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, nl).trim();
      rest = rest.slice(nl + 1);
      if (!line) continue;
      try {
        on(JSON.parse(line) as Record<string, unknown>);
      } catch {
        /* partial or foreign line */
      }
    }
  }
  if (rest.trim()) {
    try {
      on(JSON.parse(rest) as Record<string, unknown>);
    } catch {
      /* ignore */
    }
  }
}
