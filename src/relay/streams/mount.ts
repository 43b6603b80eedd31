/**
 * Plugging the pod stream adapters into a Kubernetes API server that serves subresources by
 * handler (`subresource(group, resource, name, handler)`), after it has authenticated,
 * authorized (log: get; exec, attach, portforward: create) and read the pod. Typed
 * structurally so the adapters do not depend on the API server's code.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { KubeObject } from '../../contract/kube/types.js';
import type { PodStreamAdapters } from './index.js';
import { badRequest, podTarget, refuseUpgrade, sendStatus, StreamRequestError, type PodTarget } from './status.js';

interface StreamCtx {
  object: KubeObject;
}

export interface SubresourceHost {
  subresource(
    group: string,
    resource: string,
    subresource: string,
    h: {
      verb: 'get' | 'create';
      http?(ctx: StreamCtx, req: IncomingMessage, res: ServerResponse): Promise<void>;
      upgrade?(ctx: StreamCtx, req: IncomingMessage, socket: Duplex, head: Buffer): void;
    },
  ): void;
}

/** The target of a stream request from the pod object: its node is spec.nodeName. */
export function podTargetOf(pod: KubeObject): PodTarget {
  const node = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
  if (!node) throw badRequest(`pod ${pod.metadata.name ?? ''} does not have a host assigned`);
  // the node's pods come from the API's objects (the node link), with the same uid: the node
  // refuses a stream for another incarnation of the pod (deleted and re-created under the name)
  return podTarget(node, pod);
}

export function mountPodStreams(api: SubresourceHost, adapters: PodStreamAdapters): void {
  const upgrade =
    (serve: (req: IncomingMessage, socket: Duplex, head: Buffer, t: PodTarget) => void) =>
    (ctx: StreamCtx, req: IncomingMessage, socket: Duplex, head: Buffer): void => {
      let t: PodTarget;
      try {
        t = podTargetOf(ctx.object);
      } catch (e) {
        if (e instanceof StreamRequestError) return refuseUpgrade(socket, e.status);
        throw e;
      }
      serve(req, socket, head, t);
    };
  api.subresource('', 'pods', 'log', {
    verb: 'get',
    http: async (ctx, req, res) => {
      let t: PodTarget;
      try {
        t = podTargetOf(ctx.object);
      } catch (e) {
        if (e instanceof StreamRequestError) return sendStatus(res, e.status);
        throw e;
      }
      await adapters.log(req, res, t);
    },
  });
  api.subresource('', 'pods', 'exec', { verb: 'create', upgrade: upgrade((r, s, h, t) => adapters.exec(r, s, h, t)) });
  api.subresource('', 'pods', 'attach', { verb: 'create', upgrade: upgrade((r, s, h, t) => adapters.attach(r, s, h, t)) });
  api.subresource('', 'pods', 'portforward', { verb: 'create', upgrade: upgrade((r, s, h, t) => adapters.portForward(r, s, h, t)) });
}
