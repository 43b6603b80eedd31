/** What the node hands every module: its config, the store, and injectable host facts. */
import type { EdgecoreConfig } from '../config/schema.js';
import type { Module, ModuleContext } from '../core/module.js';
import type { NodeStore } from '../store/store.js';
import type { NodeMessage, NodeReplies } from './messages.js';

export interface NodeServices {
  config: EdgecoreConfig;
  store: NodeStore;
  version: string;
  now: () => Date;
}

export type NodeModule = Module<NodeMessage, NodeReplies, NodeServices>;
export type NodeContext = ModuleContext<NodeMessage, NodeReplies, NodeServices>;
