/**
 * servicebus: apps' HTTP side of the application channel (docs/appchannel.md), on loopback.
 *
 * - Up: `POST /v1/publish/<topic>` takes the body as one message on that node-local topic — the
 *   same path as an MQTT publish on the eventbus (the topic must leave the node: a fixed upload
 *   space or a rule's topic). Answered once the message is on disk (202), or why not.
 *   An `Idempotency-Key` header makes a retried post count once.
 * - Down: `app.call` (a downlink message for a servicebus target, as KubeEdge's servicebus has
 *   it) calls `http://127.0.0.1:<port><path>` with the caller's method, headers and body, and
 *   answers the app's status, headers and body.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage } from '../../core/errors.js';
import type { NodeMessage } from '../../node/messages.js';
import type { NodeContext, NodeModule } from '../../node/services.js';
import type { AcceptResult } from '../../store/app.js';

const PUBLISH = '/v1/publish/';

/** what each outcome of an accepted post answers */
const ANSWER: Record<AcceptResult, { code: number; message: string }> = {
  queued: { code: 202, message: 'queued for the relay' },
  duplicate: { code: 200, message: 'already queued (same Idempotency-Key and body)' },
  'not-forwarded': { code: 404, message: 'no rule forwards this topic, and it is not an upload space ($hw/events/upload/#, SYS/dis/upload_records, +/user/#)' },
  'invalid-topic': { code: 400, message: 'not a topic an app may publish on (empty, too long, or with +, # or NUL)' },
  'too-large': { code: 413, message: 'over the node quota’s message size' },
  dropped: { code: 507, message: "the outbox's app bound is full (drop policy newest)" },
};

/** hop-by-hop and framing headers: never passed on to an app */
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'host', 'upgrade', 'proxy-connection', 'te', 'trailer']);

function json(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The body, or undefined once it passed `max` bytes (the rest is discarded). */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > max) over = true;
      else parts.push(c);
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(parts)));
    req.on('error', reject);
  });
}

export class ServiceBus implements NodeModule {
  readonly name = 'servicebus';
  readonly group = 'servicebus';
  private server?: Server;
  private ctx?: NodeContext;

  /** where the loopback endpoint listens (tests, diagnostics) */
  get address(): { host: string; port: number } | undefined {
    const a = this.server?.address() as AddressInfo | null | undefined;
    return a ? { host: a.address, port: a.port } : undefined;
  }

  async start(ctx: NodeContext): Promise<void> {
    this.ctx = ctx;
    const cfg = ctx.services.config.modules.servicebus;
    const server = createServer((req, res) => {
      this.onRequest(req, res).catch((e) => {
        ctx.log.warn('servicebus request failed', { error: errorMessage(e) });
        if (!res.headersSent) json(res, 500, { error: errorMessage(e) });
        else res.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(cfg.port, cfg.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    ctx.bus.serve(async (msg: NodeMessage) => (msg.type === 'app.call' ? this.call(msg) : undefined));
    ctx.log.info('servicebus ready', { address: this.address });
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const ctx = this.ctx!;
    const { app, metrics } = ctx.services;
    const path = (req.url ?? '/').split('?')[0]!;
    if (!path.startsWith(PUBLISH)) return json(res, 404, { error: `not found: POST ${PUBLISH}<topic> publishes a message` });
    if (req.method !== 'POST' && req.method !== 'PUT') return json(res, 405, { error: 'use POST (or PUT)' });
    let topic: string;
    try {
      topic = decodeURIComponent(path.slice(PUBLISH.length));
    } catch {
      return json(res, 400, { error: 'malformed %-escape in the topic' });
    }
    const body = await readBody(req, app.maxMessageBytes());
    if (!body) {
      metrics.count('app_messages_total', { source: 'http', result: 'too-large' });
      return json(res, 413, { topic, result: 'too-large', error: `${ANSWER['too-large'].message} (${app.maxMessageBytes()} bytes)` });
    }
    const key = req.headers['idempotency-key'];
    if (key !== undefined && (typeof key !== 'string' || key.length === 0 || key.length > 128)) return json(res, 400, { error: 'Idempotency-Key must be 1 to 128 characters' });
    const result = app.accept(topic, body, key ? { client: `http:${key}`, messageId: 0, dup: true } : undefined);
    metrics.count('app_messages_total', { source: 'http', result });
    const a = ANSWER[result];
    return json(res, a.code, a.code < 300 ? { topic, result } : { topic, result, error: a.message });
  }

  /** A downlink call into an app on loopback: its status, headers and body (or a thrown error). */
  private call(m: Extract<NodeMessage, { type: 'app.call' }>): Promise<{ status: number; headers: Record<string, string>; payload: Buffer }> {
    const cfg = this.ctx!.services.config.modules.servicebus;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(m.headers)) if (!HOP.has(k.toLowerCase())) headers[k] = v;
    headers['content-length'] = String(m.payload.length);
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: m.port, path: m.path, method: m.method, headers, timeout: cfg.callTimeoutSeconds * 1000 }, (res) => {
        const parts: Buffer[] = [];
        let n = 0;
        res.on('data', (c: Buffer) => {
          n += c.length;
          if (n > cfg.maxReplyBytes) {
            res.destroy();
            reject(new Error(`the app's answer passed ${cfg.maxReplyBytes} bytes`));
          } else parts.push(c);
        });
        res.on('end', () => {
          const out: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined && !HOP.has(k)) out[k] = Array.isArray(v) ? v.join(', ') : v;
          resolve({ status: res.statusCode ?? 502, headers: out, payload: Buffer.concat(parts) });
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer from 127.0.0.1:${m.port} within ${cfg.callTimeoutSeconds} s`)));
      req.on('error', reject);
      req.end(m.payload);
    });
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    this.ctx = undefined;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
  }
}
