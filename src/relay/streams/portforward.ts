/**
 * /portforward over WebSocket as the kubelet serves it to WebSocket clients (@kubernetes/client-node's
 * PortForward): protocol `v4.channel.k8s.io` (or `portforward.k8s.io`), `?ports=P[,Q]` (the
 * parameter may repeat). Each port i gets channel 2i for data and 2i+1 for errors; the first
 * message on each of them is the port number (uint16, little-endian). One WebSocket carries
 * one TCP connection per port; each is a `portforward` stream session to the node, which dials
 * the pod's IP (127.0.0.1 for hostNetwork pods). The WebSocket closes when every connection
 * has ended.
 *
 * kubectl's own port-forward speaks SPDY (1.30+: SPDY tunnelled inside a WebSocket,
 * `SPDY/3.1+portforward.k8s.io`); edgerelay does not, and says so (docs/relay.md).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import type { NodeStreams, RelaySession } from './node-streams.js';
import { badRequest, failureStatus, pickProtocol, refuseUpgrade, statusOf, StreamRequestError, upgradeKind, type PodTarget } from './status.js';

export const PORTFORWARD_PROTOCOLS = ['v4.channel.k8s.io', 'portforward.k8s.io'] as const;
/** ports forwarded over one WebSocket at most */
const MAX_PORTS = 8;

export function parsePorts(q: URLSearchParams): number[] {
  const raw = q.getAll('ports').flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  if (raw.length === 0) throw badRequest('at least one port must be specified (ports=)');
  if (raw.length > MAX_PORTS) throw badRequest(`at most ${MAX_PORTS} ports per connection`);
  return raw.map((p) => {
    if (!/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 65535) throw badRequest(`ports: invalid value "${p}": must be a number from 1 to 65535`);
    return Number(p);
  });
}

export function servePortForward(wss: WebSocketServer, streams: NodeStreams, req: IncomingMessage, socket: Duplex, head: Buffer, target: PodTarget): void {
  let ports: number[];
  try {
    if (target.phase === 'Succeeded' || target.phase === 'Failed') throw badRequest(`cannot port-forward to a completed pod; current phase is ${target.phase}`);
    ports = parsePorts(new URL(req.url ?? '/', 'http://relay').searchParams);
  } catch (e) {
    if (e instanceof StreamRequestError) return refuseUpgrade(socket, e.status);
    throw e;
  }
  const protocol = upgradeKind(req) === 'websocket' ? pickProtocol(req, PORTFORWARD_PROTOCOLS) : undefined;
  if (!protocol) {
    return refuseUpgrade(
      socket,
      statusOf(400, 'BadRequest', `port-forward is served over WebSocket only (${PORTFORWARD_PROTOCOLS.join(', ')}, as @kubernetes/client-node speaks it); SPDY, which kubectl port-forward uses, is not supported by edgerelay`),
    );
  }
  wss.handleUpgrade(req, socket, head, (ws) => bridge(ws, streams, target, ports));
}

function portHeader(channel: number, port: number): Buffer {
  const b = Buffer.alloc(3);
  b.writeUInt8(channel, 0);
  b.writeUInt16LE(port, 1);
  return b;
}

function bridge(ws: WebSocket, streams: NodeStreams, target: PodTarget, ports: number[]): void {
  ws.on('error', () => undefined);
  const sessions: RelaySession[] = ports.map((port, i) => {
    ws.send(portHeader(2 * i, port));
    ws.send(portHeader(2 * i + 1, port));
    const s = streams.open(target.node, { kind: 'portforward', pod: { namespace: target.namespace, name: target.name, ...(target.uid ? { uid: target.uid } : {}) }, port });
    s.onData((_ch, d) => {
      if (ws.readyState !== ws.OPEN) return s.ack(d.length);
      ws.send(Buffer.concat([Buffer.from([2 * i]), d]), () => s.ack(d.length));
    });
    return s;
  });
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary || data.length < 2) return;
    const ch = data[0]!;
    const s = ch % 2 === 0 ? sessions[ch / 2] : undefined;
    if (!s) return;
    if (!s.write(data.subarray(1))) {
      ws.pause();
      s.onDrain(() => ws.resume());
    }
  });
  ws.once('close', () => {
    for (const s of sessions) s.close('client went away');
  });
  void Promise.all(
    sessions.map(async (s, i) => {
      const exit = await s.exit;
      if (exit.error && ws.readyState === ws.OPEN) {
        const msg = `error forwarding port ${ports[i]} to pod ${target.namespace}/${target.name}: ${failureStatus(exit.error).message}`;
        ws.send(Buffer.concat([Buffer.from([2 * i + 1]), Buffer.from(msg)]));
      }
    }),
  ).then(() => {
    if (ws.readyState === ws.OPEN) ws.close(1000);
  });
}
