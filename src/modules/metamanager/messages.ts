import type { ObjectEvent } from '../../contract/payloads.js';
import type { Origin, ResourceChange, ResourceKey, StoredResource } from '../../store/resources.js';
import type { ServiceAccountMount } from './server/index.js';

/**
 * metamanager's contract. Desired objects enter the node only through `desired.apply` /
 * `desired.delete` / `desired.replace` (written to SQLite before anyone acts on them); every
 * committed change of a desired object is then published as `resource.changed` (a status write
 * is not: statuses arrive many times a second and no module acts on another's status through the
 * bus; the MetaServer's watches and the mesh hear them from the store). What modules observe goes up only
 * through `status.report` (stored and queued upstream in one transaction) and
 * `telemetry.report` (queued upstream), both written by the node's uplink.
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
  /** `upstream`: what the relay gets when it differs from what the node keeps (default: `status`) */
  | { type: 'status.report'; key: ResourceKey; status: unknown; upstream?: unknown }
  /** one event or sample of an object, upstream only (e.g. `twin.reported`) */
  | { type: 'telemetry.report'; key: ResourceKey; event: string; data: unknown }
  /** something that happened to an object (edged, devicetwin): a Kubernetes Event at the relay */
  | { type: 'event.report'; key: ResourceKey; event: ObjectEvent }
  /** a desired object's change (upsert, delete; never `status`) */
  | { type: 'resource.changed'; change: ResourceChange }
  /** a pod's service-account token and how to reach the MetaServer (undefined: the MetaServer is off) */
  | { type: 'serviceaccount.issue'; pod: { namespace: string; name: string; uid: string }; serviceAccount: string };

export interface MetaReplies {
  'desired.apply': { changed: boolean; resource: StoredResource };
  'desired.delete': { deleted: boolean };
  'desired.replace': { changes: number };
  'status.report': { changed: boolean };
  'serviceaccount.issue': ServiceAccountMount | undefined;
}
