import type { Origin, ResourceChange, ResourceKey, StoredResource } from '../../store/resources.js';

/**
 * metamanager's contract. Desired objects enter the node only through `desired.apply` /
 * `desired.delete` / `desired.replace` (written to SQLite before anyone acts on them); every
 * committed change is then published as `resource.changed`.
 */
export type MetaMessage =
  | { type: 'desired.apply'; origin: Origin; key: ResourceKey; spec: unknown; resourceVersion?: number; uid?: string }
  | { type: 'desired.delete'; key: ResourceKey }
  /** level-triggered: exactly these objects of these kinds from this origin, nothing else */
  | {
      type: 'desired.replace';
      origin: Origin;
      kinds: string[];
      items: { key: ResourceKey; spec: unknown; resourceVersion?: number; uid?: string }[];
    }
  | { type: 'status.report'; key: ResourceKey; status: unknown }
  | { type: 'resource.changed'; change: ResourceChange };

export interface MetaReplies {
  'desired.apply': { changed: boolean; resource: StoredResource };
  'desired.delete': { deleted: boolean };
  'desired.replace': { changes: number };
  'status.report': { changed: boolean };
}
