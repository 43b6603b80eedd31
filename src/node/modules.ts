/**
 * The node's modules, in start order (stopped in reverse). Each is enabled and given its
 * restart policy by its config section. This is the one place that knows every module.
 */
import type { EdgecoreConfig, ModuleName } from '../config/schema.js';
import type { ModuleSpec } from '../core/module.js';
import { DeviceTwin } from '../modules/devicetwin/module.js';
import { Edged } from '../modules/edged/module.js';
import { EdgeHub } from '../modules/edgehub/module.js';
import { EventBus } from '../modules/eventbus/module.js';
import { MetaManager } from '../modules/metamanager/module.js';
import type { NodeMessage, NodeReplies } from './messages.js';
import type { NodeModule, NodeServices } from './services.js';

const FACTORIES: Record<ModuleName, () => NodeModule> = {
  metamanager: () => new MetaManager(),
  eventbus: () => new EventBus(),
  edged: () => new Edged(),
  devicetwin: () => new DeviceTwin(),
  edgehub: () => new EdgeHub(),
};

/** Start order: the store's gatekeeper first, the uplink last. */
export const MODULE_ORDER: readonly ModuleName[] = ['metamanager', 'eventbus', 'edged', 'devicetwin', 'edgehub'];

export function nodeModuleSpecs(config: EdgecoreConfig): ModuleSpec<NodeMessage, NodeReplies, NodeServices>[] {
  return MODULE_ORDER.map((name) => {
    const section = config.modules[name];
    return { module: FACTORIES[name](), enabled: section.enabled, restart: section.restart };
  });
}
