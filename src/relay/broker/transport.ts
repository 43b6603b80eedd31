/**
 * How the relay reaches the fleet: publish to a node's topics, hear what nodes publish. Two
 * implementations: the embedded aedes broker (embedded.ts) and an external broker through an
 * MQTT client (external.ts). The relay's sync code is the same over both.
 */
import type { NodeChannel } from '../../contract/topics.js';

/**
 * Called for every node → relay message; what it stores may take a while (a report is an API
 * write), so it may return a promise. The external broker's PUBACK waits for it (mqtt.js
 * handleMessage), so a message the relay did not store is sent again; aedes acknowledges a
 * node's QoS 1 publish before its `published` hook runs, which waits for it all the same (the
 * node's messages are handled in order).
 */
export type NodeMessageHandler = (node: string, channel: NodeChannel, payload: Buffer) => void | Promise<void> | undefined;

export interface PublishOptions {
  qos: 0 | 1;
  retain: boolean;
}

export interface RelayTransport {
  readonly kind: 'embedded' | 'external';
  /** `onConnect` runs on every (re)connection to an external broker (it may have lost retained documents) */
  start(onMessage: NodeMessageHandler, onConnect?: () => void): Promise<void>;
  publish(topic: string, payload: Buffer | string, opts: PublishOptions): Promise<void>;
  /** listening addresses (embedded) or the broker URL (external), for logs and tests */
  endpoints(): Record<string, string>;
  /** close a node's live session (its credentials are gone); external brokers re-read their files instead */
  disconnect?(node: string): void;
  stop(): Promise<void>;
}

/**
 * The application channel's taps (docs/appchannel.md), run before the broker acknowledges a
 * message: a node's app/up and app/ack, and a cloud consumer's publish on its downlink topics.
 * A rejection leaves the message unacknowledged (the publisher sends it again).
 */
export interface AppTaps {
  node(node: string, channel: NodeChannel, payload: Buffer): Promise<void> | undefined;
  cloud(topic: string, payload: Buffer): Promise<void>;
  /** a consumer account (username app.<name>): its password and namespaces, or undefined */
  consumer(username: string): { password: string; namespaces: readonly string[] } | undefined;
}

/** The node channels the app taps take (never handed to the node message handler). */
export const APP_CHANNELS: ReadonlySet<NodeChannel> = new Set<NodeChannel>(['app/up', 'app/ack']);

/** Direction filter: only these channels are read from nodes. */
export const UPLINK_CHANNELS: ReadonlySet<NodeChannel> = new Set<NodeChannel>([
  'sync',
  'reported/state',
  'reported/telemetry',
  'presence',
  'heartbeat',
  'rpc/response',
  'stream/up',
  'mesh/request',
]);
