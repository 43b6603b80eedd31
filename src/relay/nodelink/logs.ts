/**
 * `GET …/pods/NAME/log` (kubectl logs: container, follow, tailLines) served by asking the pod's
 * node over the link's chunked `rpc` call (`logs`). The API server has authenticated, authorized
 * (`get pods/log`) and read the pod before this runs. A pod not bound to a node has no logs yet
 * (400, as Kubernetes answers for a pod without a node); an offline node is a 504 after the wait.
 * Branch kube-streams replaces this with its multiplexed stream transport.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest, failure, internalError, serverTimeout, StatusError } from '../../contract/kube/status.js';
import { WireError } from '../../contract/errors.js';
import type { StreamHandler } from '../apiserver/http/server.js';
import type { RpcRouter } from '../rpc.js';
import { nodeNameOf } from './desired.js';

export function podLogs(rpc: RpcRouter, firstMs = 10_000): StreamHandler {
  return {
    verb: 'get',
    http: async (ctx, req: IncomingMessage, res: ServerResponse) => {
      const node = nodeNameOf(ctx.object);
      const name = ctx.object.metadata.name ?? '';
      if (!node) throw badRequest(`pod ${name} does not have a host assigned`);
      const q = ctx.query;
      const follow = q.get('follow') === 'true' || q.get('follow') === '1';
      const tail = q.get('tailLines');
      const params: Record<string, unknown> = { namespace: ctx.namespace ?? 'default', name, follow };
      const container = q.get('container');
      if (container) params.container = container;
      if (tail !== null && /^\d+$/.test(tail)) params.tail = Number(tail);
      const write = (data: unknown): void => {
        if (!res.headersSent) res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'transfer-encoding': 'chunked' });
        res.write(typeof data === 'string' ? data : JSON.stringify(data));
      };
      const call = rpc.call(node, 'logs', params, write, { firstMs, idleMs: follow ? 0 : firstMs });
      const onClose = (): void => call.cancel();
      res.on('close', onClose);
      try {
        await call.done;
      } catch (e) {
        if (res.headersSent) return void res.end();
        if (!(e instanceof WireError)) throw e;
        if (e.code === 'NotFound') throw new StatusError(failure(404, 'NotFound', `node ${node}: ${e.message}`));
        if (e.code === 'Invalid') throw badRequest(`node ${node}: ${e.message}`);
        if (e.code === 'Timeout') throw serverTimeout(`node ${node}: ${e.message}`);
        throw internalError(`node ${node}: ${e.message}`);
      } finally {
        res.off('close', onClose);
      }
      if (!res.headersSent) res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end();
      void req;
    },
  };
}
