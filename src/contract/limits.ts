/**
 * Size limits of the node → relay wire (issue 18, point 4): the largest payload each uplink
 * channel carries, checked before a byte of it is parsed, and the largest MQTT packet a broker
 * takes from a node at all. A node is a peer nobody trusts: whatever it sends is bounded here,
 * so no node can make the relay hold more than these figures per message.
 *
 * The figures are generous for what edgecore itself sends (a node status with its host report
 * is ~4 KB, a device status with 100 twins ~30 KB, a stream frame ≤ 32 KiB + 22) and small
 * against the relay's memory.
 */
import { MAX_TUNNEL_REQUEST_BYTES } from './mesh.js';
import { HEADER_BYTES, LIMITS as STREAM_LIMITS } from './streams.js';
import type { NodeChannel } from './topics.js';

const KiB = 1024;

/** The channels a node sends on (the relay reads nothing else from it). */
export type UplinkChannel = Extract<NodeChannel, 'sync' | 'reported/state' | 'reported/telemetry' | 'presence' | 'heartbeat' | 'rpc/response' | 'stream/up' | 'mesh/request' | 'app/up' | 'app/ack'>;

/** The largest payload (bytes) of each uplink channel. */
export const UPLINK_MAX_BYTES: Readonly<Record<UplinkChannel, number>> = {
  sync: 4 * KiB,
  presence: 4 * KiB,
  heartbeat: 4 * KiB,
  /** one object's status: a pod, a device with its twins, the node with its host report */
  'reported/state': 256 * KiB,
  /** one sample or event */
  'reported/telemetry': 64 * KiB,
  /** one chunk of an answer (a twin read; an error with up to 1,000 field issues) */
  'rpc/response': 256 * KiB,
  /** one stream frame: header + the largest body (a DATA frame: channel byte + 32 KiB) */
  'stream/up': HEADER_BYTES + Math.max(STREAM_LIMITS.maxData + 1, STREAM_LIMITS.maxOpenJson),
  /** one tunnel request (mesh.ts) */
  'mesh/request': MAX_TUNNEL_REQUEST_BYTES,
  /** one app message (appchan.ts): the default 256 KiB quota's message base64-encoded, its topic and fields */
  'app/up': 384 * KiB,
  /** one downlink outcome, with a servicebus app's answer when the caller waits for it */
  'app/ack': 384 * KiB,
};

/**
 * The largest MQTT packet a broker accepts from a node (the embedded broker's default; the relay's
 * own client tells an external broker the same as its MQTT 5 maximum packet size): the largest
 * uplink payload, its topic and the packet's header, rounded up.
 */
export const NODE_MAX_PACKET_BYTES = 512 * KiB;

/** The payload limit of `channel`, or 0 for a channel a node does not send on. */
export function uplinkLimit(channel: NodeChannel): number {
  return (UPLINK_MAX_BYTES as Partial<Record<NodeChannel, number>>)[channel] ?? 0;
}

/** Why a payload is refused on size alone (its channel's limit), or undefined when it fits. */
export function oversize(channel: NodeChannel, bytes: number): string | undefined {
  const max = uplinkLimit(channel);
  if (max === 0) return `nodes do not send on ${channel}`;
  return bytes > max ? `payload of ${bytes} bytes is over the ${max}-byte limit of ${channel}` : undefined;
}
