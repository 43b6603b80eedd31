/**
 * Serving the relay's calls on the node (twin get/set) by asking the module that owns the data
 * over the bus (devicetwin `twin.get` / `twin.set`). Each call answers with chunks on
 * `rpc/response`, the last one `done`. Logs, exec and attach travel as streams (streams.ts).
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

export function nodeRpcHandlers(ctx: NodeContext): RpcHandlers {
  return {
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
