/**
 * The node's modules, in start order (stopped in reverse). Each is enabled and given its
 * restart policy by its config section. This is the one place that knows every module.
 */
import type { EdgecoreConfig, ModuleName } from '../config/schema.js';
import type { ModuleSpec } from '../core/module.js';
import type { NodeMessage, NodeReplies } from './messages.js';
import type { NodeModule, NodeServices } from './services.js';

/** Lazy: a disabled module's code (and its libraries: dockerode, aedes, mqtt...) is never loaded. */
const FACTORIES: Record<ModuleName, () => Promise<NodeModule>> = {
  metamanager: async () => new (await import('../modules/metamanager/module.js')).MetaManager(),
  eventbus: async () => new (await import('../modules/eventbus/module.js')).EventBus(),
  edged: async () => new (await import('../modules/edged/module.js')).Edged(),
  devicetwin: async () => new (await import('../modules/devicetwin/module.js')).DeviceTwin(),
  edgehub: async () => new (await import('../modules/edgehub/module.js')).EdgeHub(),
  nodestatus: async () => new (await import('../modules/nodestatus/module.js')).NodeStatus(),
  servicebus: async () => new (await import('../modules/servicebus/module.js')).ServiceBus(),
  mesh: async () => new (await import('../modules/mesh/module.js')).Mesh(),
};

/** Start order: the store's gatekeeper first, the uplink last. */
export const MODULE_ORDER: readonly ModuleName[] = ['metamanager', 'eventbus', 'servicebus', 'mesh', 'edged', 'devicetwin', 'nodestatus', 'edgehub'];

/** A placeholder for a disabled module: its code is not even loaded. */
function disabled(name: ModuleName): NodeModule {
  return { name, group: 'disabled', start: async () => undefined, stop: async () => undefined };
}

export async function nodeModuleSpecs(config: EdgecoreConfig): Promise<ModuleSpec<NodeMessage, NodeReplies, NodeServices>[]> {
  const specs: ModuleSpec<NodeMessage, NodeReplies, NodeServices>[] = [];
  for (const name of MODULE_ORDER) {
    const section = config.modules[name];
    const module = section.enabled ? await FACTORIES[name]() : disabled(name);
    specs.push({ module, enabled: section.enabled, restart: section.restart });
  }
  return specs;
}
