/**
 * The node ⇄ relay wire contract: every MQTT topic. Shared by the node (edgehub and whoever
 * enqueues upstream) and the relay; neither imports the other's code. Payload types are in
 * `payloads.ts`. Each node publishes and subscribes only below `edgecore/v1/nodes/{node}/`
 * (the broker ACL enforces it), so one node's credentials can never read another's traffic.
 *
 *   desired              relay → node  retained, QoS1  DesiredDocument (full, versioned)
 *   sync                 node → relay  QoS1            SyncRequest (on every connect)
 *   reported/state       node → relay  QoS1            ReportedState (outbox, coalesced)
 *   reported/telemetry   node → relay  QoS1            ReportedTelemetry (outbox, appended)
 *   presence             node → relay  retained, QoS1  Presence (birth; the Last Will says offline)
 *   heartbeat            node → relay  QoS0            Heartbeat
 *   rpc/request          relay → node  QoS1            RpcRequest (twin get/set)
 *   rpc/response         node → relay  QoS1            RpcResponse (chunks, then done)
 *   app/up               node → relay  QoS1            AppUp (an app's message; outbox, app class)
 *   app/ack              node → relay  QoS1            AppAck (what became of an app/down message)
 *   app/down             relay → node  QoS1            AppDown (a message for an app on the node)
 *   app/routes           relay → node  QoS1            AppRoutes (topics the node forwards, its quota)
 *
 *   stream/down          relay → node  QoS0            stream frames (streams.ts): open, stdin, credit...
 *   stream/up            node → relay  QoS0            stream frames: ready, stdout/stderr, credit, exit...
 *   mesh/request         node → relay  QoS0            TunnelRequest (mesh.ts): "open me a tunnel" (the relay decides)
 *
 * The application channel's payloads are in `appchan.ts`.
 */
export const TOPIC_ROOT = 'edgecore/v1/nodes';

export const topics = {
  /** the subtree a node may use (broker ACL) */
  nodeRoot: (node: string) => `${TOPIC_ROOT}/${node}`,
  /** relay → node: the full desired document (versioned, level-triggered) */
  desired: (node: string) => `${TOPIC_ROOT}/${node}/desired`,
  /** node → relay: "send me the current desired document" (on every connect) */
  sync: (node: string) => `${TOPIC_ROOT}/${node}/sync`,
  /** node → relay: the latest state of one object (coalesced per key in the outbox) */
  reportedState: (node: string) => `${TOPIC_ROOT}/${node}/reported/state`,
  /** node → relay: telemetry/events (appended, in order) */
  reportedTelemetry: (node: string) => `${TOPIC_ROOT}/${node}/reported/telemetry`,
  /** node → relay: retained presence; also the Last Will */
  presence: (node: string) => `${TOPIC_ROOT}/${node}/presence`,
  /** node → relay: liveness between reports */
  heartbeat: (node: string) => `${TOPIC_ROOT}/${node}/heartbeat`,
  /** relay → node: a request the node serves (twin get/set) */
  rpcRequest: (node: string) => `${TOPIC_ROOT}/${node}/rpc/request`,
  /** node → relay: answers to rpcRequest, possibly several chunks */
  rpcResponse: (node: string) => `${TOPIC_ROOT}/${node}/rpc/response`,
  /** node → relay: one app message (outbox, app class) */
  appUp: (node: string) => `${TOPIC_ROOT}/${node}/app/up`,
  /** node → relay: the outcome of one app/down message */
  appAck: (node: string) => `${TOPIC_ROOT}/${node}/app/ack`,
  /** relay → node: one message for an app on the node */
  appDown: (node: string) => `${TOPIC_ROOT}/${node}/app/down`,
  /** relay → node: the app topics the node forwards, and its quota */
  appRoutes: (node: string) => `${TOPIC_ROOT}/${node}/app/routes`,
  /** relay → node: stream frames (sessions the relay opened) */
  streamDown: (node: string) => `${TOPIC_ROOT}/${node}/stream/down`,
  /** node → relay: stream frames answering them */
  streamUp: (node: string) => `${TOPIC_ROOT}/${node}/stream/up`,
  /** node → relay: a request for a mesh tunnel through the relay (mesh.ts) */
  meshRequest: (node: string) => `${TOPIC_ROOT}/${node}/mesh/request`,
} as const;

/** Wildcard subscriptions of the relay (all nodes). */
export const relaySubscriptions = [
  `${TOPIC_ROOT}/+/sync`,
  `${TOPIC_ROOT}/+/reported/state`,
  `${TOPIC_ROOT}/+/reported/telemetry`,
  `${TOPIC_ROOT}/+/presence`,
  `${TOPIC_ROOT}/+/heartbeat`,
  `${TOPIC_ROOT}/+/rpc/response`,
  `${TOPIC_ROOT}/+/app/up`,
  `${TOPIC_ROOT}/+/app/ack`,
  `${TOPIC_ROOT}/+/stream/up`,
  `${TOPIC_ROOT}/+/mesh/request`,
] as const;

export type NodeChannel =
  | 'desired'
  | 'sync'
  | 'reported/state'
  | 'reported/telemetry'
  | 'presence'
  | 'heartbeat'
  | 'rpc/request'
  | 'rpc/response'
  | 'app/up'
  | 'app/ack'
  | 'app/down'
  | 'app/routes'
  | 'stream/down'
  | 'stream/up'
  | 'mesh/request';

const CHANNELS: ReadonlySet<string> = new Set<NodeChannel>([
  'desired',
  'sync',
  'reported/state',
  'reported/telemetry',
  'presence',
  'heartbeat',
  'rpc/request',
  'rpc/response',
  'app/up',
  'app/ack',
  'app/down',
  'app/routes',
  'stream/down',
  'stream/up',
  'mesh/request',
]);

/** Split a concrete topic into node and channel; undefined when it is not a contract topic. */
export function parseNodeTopic(topic: string): { node: string; channel: NodeChannel } | undefined {
  const prefix = `${TOPIC_ROOT}/`;
  if (!topic.startsWith(prefix)) return undefined;
  const rest = topic.slice(prefix.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return undefined;
  const node = rest.slice(0, slash);
  const channel = rest.slice(slash + 1);
  return CHANNELS.has(channel) ? { node, channel: channel as NodeChannel } : undefined;
}

/** The channels a node publishes (its uplink); everything else in its subtree only the relay writes. */
export const NODE_PUBLISHES: readonly NodeChannel[] = ['sync', 'reported/state', 'reported/telemetry', 'presence', 'heartbeat', 'rpc/response', 'stream/up', 'mesh/request', 'app/up', 'app/ack'];
/** The channels a node reads: what the relay sends it. */
export const NODE_READS: readonly NodeChannel[] = ['desired', 'rpc/request', 'stream/down', 'app/down', 'app/routes'];
/** The only channel a node may publish retained (its birth message and Last Will). */
export const NODE_RETAINED: readonly NodeChannel[] = ['presence'];

/**
 * The broker's publish rule for a node: only its own uplink channels, and retained only on
 * `presence`. Desired state flows only from the relay: a node never writes its own `desired`
 * (a forged, retained document would be applied and then outrank the relay's), and a retained
 * message anywhere else would be replayed to the relay on every reconnect.
 */
export function nodeMayPublish(node: string, topic: string, retain: boolean): boolean {
  const t = parseNodeTopic(topic);
  if (!t || t.node !== node || topic !== `${TOPIC_ROOT}/${node}/${t.channel}`) return false;
  if (!NODE_PUBLISHES.includes(t.channel)) return false;
  return !retain || NODE_RETAINED.includes(t.channel);
}

/**
 * The broker ACL as one pure rule: a node may use only topics inside its own subtree, with no
 * wildcard reaching outside it. `topic` may be a subscription filter (what a node may read);
 * what it may publish is `nodeMayPublish`.
 */
export function nodeMayUse(node: string, topic: string): boolean {
  const root = `${TOPIC_ROOT}/${node}/`;
  if (!topic.startsWith(root)) return false;
  // '+' or '#' in the node segment is impossible here (the prefix matched literally).
  return !topic.slice(root.length).split('/').some((seg) => seg === '..');
}
