/**
 * Serving the relay's calls on the node (logs, twin get/set) by asking the module that owns
 * the data over the bus (edged `pod.logs`, devicetwin `twin.get` / `twin.set`). Each call
 * answers with chunks on `rpc/response`, the last one `done`.
 */
import type { WireErrorBody } from '../../contract/errors.js';
import type { RpcMethod, RpcRequest } from '../../contract/payloads.js';
import { ValidationError } from '../../core/errors.js';
import type { NodeContext } from '../../node/services.js';

/** One chunk of a call's answer (errors mapped by the contract's `wireErrorOf`). */
export type Emit = (r: { data?: unknown; done: boolean; error?: WireErrorBody }) => void;

export type RpcHandler = (req: RpcRequest, emit: Emit, signal: AbortSignal) => Promise<void>;
export type RpcHandlers = Record<RpcMethod, RpcHandler>;

function str(p: Record<string, unknown>, k: string): string {
  const v = p[k];
  if (typeof v !== 'string' || !v) throw new ValidationError([{ path: k, reason: 'required' }], 'rpc params');
  return v;
}

/** Coalesce log output into chunks of up to `max` bytes or `ms` of waiting. */
const LOG_CHUNK_BYTES = 16 * 1024;
const LOG_CHUNK_MS = 50;

export function nodeRpcHandlers(ctx: NodeContext): RpcHandlers {
  return {
    logs: async (req, emit, signal) => {
      const p = req.params;
      const follow = p.follow === true;
      const r = await ctx.bus.request<'pod.logs'>(
        'edged',
        {
          type: 'pod.logs',
          pod: { namespace: str(p, 'namespace'), name: str(p, 'name'), ...(typeof p.container === 'string' ? { container: p.container } : {}) },
          ...(typeof p.tail === 'number' && p.tail >= 0 ? { tail: p.tail } : {}),
          follow,
        },
        15_000,
      );
      const stream = r.stream;
      await new Promise<void>((resolve, reject) => {
        let buf = '';
        let timer: NodeJS.Timeout | undefined;
        const send = (): void => {
          clearTimeout(timer);
          timer = undefined;
          if (buf) emit({ data: buf, done: false });
          buf = '';
        };
        const onAbort = (): void => void stream.destroy();
        signal.addEventListener('abort', onAbort, { once: true });
        stream.on('data', (c: Buffer | string) => {
          buf += typeof c === 'string' ? c : c.toString('utf8');
          if (buf.length >= LOG_CHUNK_BYTES) send();
          else timer ??= setTimeout(send, LOG_CHUNK_MS);
        });
        const end = (): void => {
          signal.removeEventListener('abort', onAbort);
          send();
          resolve();
        };
        stream.once('end', end);
        stream.once('close', end);
        stream.once('error', (e) => (signal.aborted ? end() : reject(e)));
      });
      emit({ done: true });
    },
    'twin.get': async (req, emit) => {
      const device = { namespace: str(req.params, 'namespace'), name: str(req.params, 'name') };
      const r = await ctx.bus.request('devicetwin', { type: 'twin.get', device });
      emit({ data: r, done: true });
    },
    'twin.set': async (req, emit) => {
      const device = { namespace: str(req.params, 'namespace'), name: str(req.params, 'name') };
      const values = req.params.values;
      if (!values || typeof values !== 'object' || Array.isArray(values)) throw new ValidationError([{ path: 'values', reason: 'must map property names to values' }], 'twin set');
      const desired = Object.fromEntries(Object.entries(values as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
      const r = await ctx.bus.request('devicetwin', { type: 'twin.set', device, desired });
      emit({ data: r, done: true });
    },
  };
}
