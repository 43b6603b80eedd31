/**
 * devicetwin's contract on the bus.
 *
 * Requests served by devicetwin (errors: ValidationError → bad input, NotFoundError → unknown
 * device, ConflictError → stale version; anything else is internal):
 *   twin.update   an edge update from a mapper or app (KubeEdge `…/twin/update`)
 *   twin.get      the twins of one device
 *   twin.set      desired values (edgectl `twin set`, via the relay); validated against the model
 *   device.state  a mapper reports a device's state (KubeEdge `…/state/update`)
 *   membership.get the devices bound to this node
 *
 * Published by devicetwin (topic messages; eventbus turns them into MQTT):
 *   twin.changed  after every committed twin change: the document and the current delta
 *   device.data   reported samples, for local consumers (`$ke/events/device/{id}/data/update`)
 *   membership.changed devices added to or removed from this node
 */
import type { DeviceState, Twin, TwinDocument, TwinPatch } from './twin.js';

export interface DeviceRef {
  namespace: string;
  name: string;
}

export interface TwinResult {
  device: DeviceRef;
  state: DeviceState;
  lastOnlineTime?: string;
  twins: Record<string, Twin>;
  delta: Record<string, string>;
}

export interface MemberDevice {
  namespace: string;
  name: string;
  description: string;
  protocol: string;
  /** served by a built-in driver (false: left to an external mapper) */
  builtin: boolean;
  /** as its mapper last spelled it (KubeEdge keeps the case), else the node's own word */
  state: string;
  lastOnlineTime?: string;
  twins: Record<string, Twin>;
}

export interface DataPoint {
  value: string;
  type: string;
  /** ms */
  timestamp: number;
}

export type DeviceMessage =
  | { type: 'devicetwin.resync' }
  /** `eventId`: the mapper's event_id; the twin/update/document this update causes carries it (as KubeEdge's) */
  | { type: 'twin.update'; device: DeviceRef; patch: TwinPatch; eventId?: string }
  | { type: 'twin.get'; device: DeviceRef }
  /** `source` picks the version counter bumped: cloud (default: edgectl goes through the relay) or edge (a local app) */
  | { type: 'twin.set'; device: DeviceRef; desired: Record<string, string>; source?: 'cloud' | 'edge' }
  | { type: 'device.state'; device: DeviceRef; state: string }
  | { type: 'membership.get' }
  /** `eventId`: the request that caused it (a mapper's twin/update), absent for changes of the node's own */
  | { type: 'twin.changed'; device: DeviceRef; document: TwinDocument; twins: Record<string, Twin>; delta: Record<string, string>; eventId?: string }
  | { type: 'device.data'; device: DeviceRef; data: Record<string, DataPoint> }
  | { type: 'membership.changed'; added: MemberDevice[]; removed: MemberDevice[] };

export interface DeviceReplies {
  'devicetwin.resync': void;
  'twin.update': TwinResult;
  'twin.get': TwinResult;
  'twin.set': TwinResult;
  /** `state` as the mapper spelled it (KubeEdge keeps its case: `OK`, `Online`) */
  'device.state': { device: DeviceRef; state: string; lastOnlineTime?: string };
  'membership.get': { devices: MemberDevice[] };
}
