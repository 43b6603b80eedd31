/**
 * /exec and /attach over WebSocket with Kubernetes' channel protocols: `v5.channel.k8s.io`
 * (kubectl ≥ 1.30; channel 255 carries the close signal, `[255, 0]` = stdin finished) and
 * `v4.channel.k8s.io` (client-node and older clients; no close signal). Binary frames, the
 * first byte the channel: 0 stdin, 1 stdout, 2 stderr, 3 the final Status (JSON), 4 resize
 * (`{"Width":W,"Height":H}`).
 *
 * Refusals that the relay can decide (bad query, unknown container, finished pod, no shared
 * protocol) are answered before the upgrade with a Status, identically for the WebSocket
 * attempt and kubectl's SPDY fallback, so kubectl prints the real reason. Everything after the
 * node is asked (container not running, command not found) ends on channel 3, because a
 * command must never run twice: the upgrade is accepted first, then the session is opened.
 * SPDY itself is not spoken (see docs/relay.md).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket, WebSocketServer } from 'ws';
import type { NodeStreams, SessionRequest } from './node-streams.js';
import { badRequest, channelStatus, pickProtocol, queryBool, refuseUpgrade, resolveContainer, statusOf, StreamRequestError, upgradeKind, type PodTarget } from './status.js';

export const CHANNEL_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;

const CH_STATUS = 3;
const CH_RESIZE = 4;
const CH_CLOSE = 255;

export type ChannelKind = 'exec' | 'attach';

/** Query of /exec or /attach → the session request (throws StreamRequestError). */
export function parseChannelQuery(kind: ChannelKind, q: URLSearchParams, target: PodTarget): SessionRequest {
  if (target.phase === 'Succeeded' || target.phase === 'Failed') throw badRequest(`cannot ${kind} into a container in a completed pod; current phase is ${target.phase}`);
  const command = q.getAll('command');
  if (kind === 'exec' && command.length === 0) throw badRequest('you must specify at least one command for the container');
  const stdin = queryBool(q, 'stdin');
  const stdout = queryBool(q, 'stdout');
  const tty = queryBool(q, 'tty');
  const wantStderr = queryBool(q, 'stderr');
  if (!stdin && !stdout && !wantStderr) throw badRequest('you must specify at least 1 of stdin, stdout, stderr');
  // with a TTY stderr is merged into stdout, as the kubelet does
  const stderr = !tty && wantStderr;
  return {
    kind,
    pod: { namespace: target.namespace, name: target.name, ...(target.uid ? { uid: target.uid } : {}) },
    container: resolveContainer(target, q.get('container')),
    ...(kind === 'exec' ? { command } : {}),
    stdin,
    stdout,
    stderr,
    tty,
  };
}

/** Serve one /exec or /attach upgrade request for a resolved pod. */
export function serveChannel(wss: WebSocketServer, streams: NodeStreams, kind: ChannelKind, req: IncomingMessage, socket: Duplex, head: Buffer, target: PodTarget): void {
  let request: SessionRequest;
  try {
    request = parseChannelQuery(kind, new URL(req.url ?? '/', 'http://relay').searchParams, target);
  } catch (e) {
    if (e instanceof StreamRequestError) return refuseUpgrade(socket, e.status);
    throw e;
  }
  const up = upgradeKind(req);
  if (up !== 'websocket') {
    const why =
      up === 'spdy'
        ? `${kind} over SPDY is not supported by edgerelay: use a client that speaks WebSocket (${CHANNEL_PROTOCOLS.join(', ')}), e.g. kubectl 1.30 or newer`
        : `${kind} needs a WebSocket upgrade (${CHANNEL_PROTOCOLS.join(', ')})`;
    return refuseUpgrade(socket, statusOf(400, 'BadRequest', why));
  }
  const protocol = pickProtocol(req, CHANNEL_PROTOCOLS);
  if (!protocol) return refuseUpgrade(socket, statusOf(400, 'BadRequest', `no supported WebSocket protocol offered; this server speaks ${CHANNEL_PROTOCOLS.join(', ')}`));
  wss.handleUpgrade(req, socket, head, (ws) => bridge(ws, protocol, streams, target.node, request));
}

function bridge(ws: WebSocket, protocol: string, streams: NodeStreams, node: string, request: SessionRequest): void {
  const s = streams.open(node, request);
  const v5 = protocol === 'v5.channel.k8s.io';
  ws.on('error', () => undefined);
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary || data.length === 0) return;
    const ch = data[0];
    if (ch === 0) {
      if (!request.stdin || data.length < 2) return;
      if (!s.write(data.subarray(1))) {
        ws.pause();
        s.onDrain(() => ws.resume());
      }
    } else if (ch === CH_RESIZE) {
      try {
        // Go decodes field names case-insensitively: kubectl sends Width/Height, client-node width/height
        const r = Object.fromEntries(Object.entries(JSON.parse(data.subarray(1).toString('utf8')) as object).map(([k, v]) => [k.toLowerCase(), v])) as { width?: unknown; height?: unknown };
        if (typeof r.width === 'number' && typeof r.height === 'number') s.resize(r.width, r.height);
      } catch {
        /* a malformed resize is ignored, as the kubelet does */
      }
    } else if (ch === CH_CLOSE && v5 && data[1] === 0) {
      s.end();
    }
  });
  s.onData((channel, d) => {
    if (ws.readyState !== ws.OPEN) return s.ack(d.length);
    ws.send(Buffer.concat([Buffer.from([channel]), d]), () => s.ack(d.length));
  });
  ws.once('close', () => s.close('client went away'));
  void s.exit.then((exit) => {
    if (ws.readyState !== ws.OPEN) return;
    const status = Buffer.from(JSON.stringify(channelStatus(exit, request.command)));
    ws.send(Buffer.concat([Buffer.from([CH_STATUS]), status]), () => ws.close(1000));
  });
}
