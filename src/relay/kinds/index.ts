/**
 * Every kind the relay's API serves, one ResourceDef each. Namespace, ConfigMap, Secret and
 * Event are defined here; Pod, Node, Device and DeviceModel join them from their own files.
 */
import { configMapDef } from './configmap.js';
import { eventDef } from './event.js';
import { namespaceDef } from './namespace.js';
import { secretDef } from './secret.js';
import type { ResourceDef } from './types.js';

export function builtinKinds(): ResourceDef[] {
  return [namespaceDef, configMapDef, secretDef, eventDef];
}
