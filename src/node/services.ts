/** What the node hands every module: its config, the store and its uplink, and injectable host facts. */
import type { EdgecoreConfig } from '../config/schema.js';
import type { Module, ModuleContext } from '../core/module.js';
import { AppChannelStore } from '../store/app.js';
import type { NodeStore } from '../store/store.js';
import { Uplink } from '../store/uplink.js';
import { NodeMetrics } from './metrics.js';
import type { NodeMessage, NodeReplies } from './messages.js';

export interface NodeServices {
  config: EdgecoreConfig;
  store: NodeStore;
  /** the only way up: statuses, telemetry and the node's own status go through it */
  uplink: Uplink;
  /** the application channel's node-side state: routes, accepting app messages, the downlink mark */
  app: AppChannelStore;
  version: string;
  now: () => Date;
  /** the daemon's metrics (counted where they happen, exposed on the ops endpoint's /metrics) */
  metrics: NodeMetrics;
}

/** The services of one node: the uplink is bound to the store and the node's name. */
export function nodeServices(config: EdgecoreConfig, store: NodeStore, version: string, now: () => Date = () => new Date()): NodeServices {
  const uplink = new Uplink(store, config.node.name, now);
  return { config, store, uplink, app: new AppChannelStore(store, uplink, now), version, now, metrics: new NodeMetrics(config.ops.enabled && config.ops.metrics) };
}

export type NodeModule = Module<NodeMessage, NodeReplies, NodeServices>;
export type NodeContext = ModuleContext<NodeMessage, NodeReplies, NodeServices>;
