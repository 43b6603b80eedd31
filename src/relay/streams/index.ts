/**
 * Streams between the relay and its nodes, and their Kubernetes wire adapters. The API server
 * resolves the pod (404 if absent, authorization), builds a PodTarget with `podTargetOf(pod)`
 * (node = spec.nodeName) or `podTarget(node, pod)`, and hands the request over —
 * `mountPodStreams(apiServer, adapters)` does all four for a server with `subresource()`:
 *
 *   GET  …/pods/{name}/log          adapters.log(req, res, target)
 *   GET  …/pods/{name}/exec         adapters.exec(req, socket, head, target)       (server 'upgrade' event)
 *   GET  …/pods/{name}/attach       adapters.attach(req, socket, head, target)
 *   GET  …/pods/{name}/portforward  adapters.portForward(req, socket, head, target)
 *
 * (POST of exec/attach/portforward — kubectl's SPDY attempt — goes to the same functions: they
 * answer the same refusals a WebSocket attempt would get, then say SPDY is not spoken.)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { serveChannel } from './channel.js';
import { serveLogs } from './logs.js';
import type { NodeStreams } from './node-streams.js';
import { servePortForward } from './portforward.js';
import type { PodTarget } from './status.js';

export { NodeStreams, RelaySession, splice, StreamError, type NodeStreamsDeps, type SessionRequest } from './node-streams.js';
export { ServiceLoadBalancer, planListeners, edgeEndpoints, type LbRoute } from './loadbalancer.js';
export { RelayTunnels, joinSocket, type RelayTunnelsDeps } from './tunnels.js';
export { planTunnel, parseTunnelRequest, type TunnelPlan } from './tunnel-plan.js';
export { podTarget, type PodTarget, StreamRequestError } from './status.js';
export { openLogs, parseLogQuery, pipeLogs, type LogQuery } from './logs.js';
export { CHANNEL_PROTOCOLS } from './channel.js';
export { PORTFORWARD_PROTOCOLS } from './portforward.js';
export { mountPodStreams, podTargetOf, type SubresourceHost } from './mount.js';

/** Largest WebSocket message a client may send (stdin chunks, resize): bounds what one session buffers. */
const MAX_CLIENT_MESSAGE = 1024 * 1024;

export class PodStreamAdapters {
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_CLIENT_MESSAGE, clientTracking: true });

  constructor(readonly streams: NodeStreams) {}

  log(req: IncomingMessage, res: ServerResponse, target: PodTarget): Promise<void> {
    return serveLogs(this.streams, req, res, target);
  }

  exec(req: IncomingMessage, socket: Duplex, head: Buffer, target: PodTarget): void {
    serveChannel(this.wss, this.streams, 'exec', req, socket, head, target);
  }

  attach(req: IncomingMessage, socket: Duplex, head: Buffer, target: PodTarget): void {
    serveChannel(this.wss, this.streams, 'attach', req, socket, head, target);
  }

  portForward(req: IncomingMessage, socket: Duplex, head: Buffer, target: PodTarget): void {
    servePortForward(this.wss, this.streams, req, socket, head, target);
  }

  /** Close every open client connection (relay stopping). */
  close(): void {
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }
}
