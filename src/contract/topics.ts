/**
 * The node ⇄ relay wire contract: every MQTT topic. Shared by the node (edgehub and whoever
 * enqueues upstream) and the relay; neither imports the other's code. Payload types are in
 * `payloads.ts`. Each node publishes and subscribes only below `edgecore/v1/nodes/{node}/`.
 */
export const TOPIC_ROOT = 'edgecore/v1/nodes';

export const topics = {
  /** the subtree a node may use (broker ACL) */
  nodeRoot: (node: string) => `${TOPIC_ROOT}/${node}`,
  /** relay → node: the full desired document (versioned, level-triggered) */
  desired: (node: string) => `${TOPIC_ROOT}/${node}/desired`,
  /** node → relay: the latest state of one object (coalesced per key in the outbox) */
  reportedState: (node: string) => `${TOPIC_ROOT}/${node}/reported/state`,
  /** node → relay: telemetry/events (appended, in order) */
  reportedTelemetry: (node: string) => `${TOPIC_ROOT}/${node}/reported/telemetry`,
  /** node → relay: retained presence; also the Last Will */
  presence: (node: string) => `${TOPIC_ROOT}/${node}/presence`,
} as const;
