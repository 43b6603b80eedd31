/**
 * OpenAPI v3 schemas for devices.kubeedge.io/v1beta1 Device and DeviceModel, derived from the zod
 * schemas the relay validates with (src/contract/resources/device.ts) through zod 4's
 * z.toJSONSchema, then made structural the way Kubernetes publishes a CRD's schema: metadata is
 * ObjectMeta, free maps and the status keep unknown fields, JSON-Schema-only keywords are dropped,
 * and each kind carries its x-kubernetes-group-version-kind. One schema, one source of truth.
 */
import * as z from 'zod';
import { DEVICE_API_VERSION, deviceModelSchema, deviceSchema } from '../../contract/resources/device.js';
import type { Schema } from './typeinfo.js';

export const DEVICE_GROUP = DEVICE_API_VERSION.split('/')[0]!;
export const DEVICE_VERSION = DEVICE_API_VERSION.split('/')[1]!;
export const DEVICE_SCHEMA_NAMES = { Device: 'io.kubeedge.devices.v1beta1.Device', DeviceModel: 'io.kubeedge.devices.v1beta1.DeviceModel' } as const;

const OBJECT_META = '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
const DROP = new Set(['$schema', 'propertyNames', 'const', 'additionalProperties']);

/** Our own short descriptions, shown by `kubectl explain` (path from the kind's root). */
const DESCRIPTIONS: Record<string, string> = {
  '': 'KubeEdge device API object.',
  apiVersion: 'The versioned schema of this object: devices.kubeedge.io/v1beta1.',
  kind: 'The REST resource this object represents.',
  metadata: "Standard object's metadata.",
  status: 'Observed state, written by the node: twins with reported and observedDesired values, and the device state.',
  'Device.spec': 'Which model the device is, which node it is bound to, how it is reached, and its properties.',
  'Device.spec.deviceModelRef': 'The DeviceModel (in the same namespace) this device is an instance of.',
  'Device.spec.nodeName': 'The edge node the device is attached to.',
  'Device.spec.protocol': 'How the node reaches the device: protocol name and its free-form configuration.',
  'Device.spec.properties': 'The properties of the model this device reports or accepts, with desired values and collection settings.',
  'Device.spec.properties.desired': 'The value the device should take (ReadWrite properties only), carried as a string.',
  'DeviceModel.spec': 'The properties every device of this model has, and its default protocol.',
  'DeviceModel.spec.properties': 'Property definitions: name, type, access mode, range and unit.',
};

function structural(node: unknown, path: string, kind: string): unknown {
  if (Array.isArray(node)) return node.map((n) => structural(n, path, kind));
  if (typeof node !== 'object' || node === null) return node;
  const s = node as Schema;
  const out: Schema = {};
  for (const [k, v] of Object.entries(s)) {
    if (DROP.has(k)) continue;
    if (k === 'maximum' && v === Number.MAX_SAFE_INTEGER) continue;
    if (k === 'properties') {
      out.properties = Object.fromEntries(
        Object.entries(v as Schema).map(([p, ps]) => [p, structural(ps, path ? `${path}.${p}` : p, kind)]),
      );
    } else if (k === 'items') out.items = structural(v, path, kind);
    else if (k === 'type' && Array.isArray(v)) out.type = 'string'; // string | number | boolean: KubeEdge carries these as strings
    else out[k] = v;
  }
  // a free map (z.record of unknown) or an unconstrained value keeps whatever it is given
  const free = s.additionalProperties;
  if (typeof free === 'object' && free !== null && Object.keys(free).length > 0) out.additionalProperties = structural(free, path, kind);
  else if (free !== false && !s.properties && (s.type === 'object' || s.type === undefined)) {
    out.type = 'object';
    out['x-kubernetes-preserve-unknown-fields'] = true;
  }
  const d = DESCRIPTIONS[`${kind}.${path}`] ?? DESCRIPTIONS[path];
  if (d && !out.description) out.description = d;
  return out;
}

function kindSchema(schema: z.ZodType, kind: 'Device' | 'DeviceModel'): Schema {
  const raw = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Schema;
  const out = structural(raw, '', kind) as Schema;
  const props = out.properties as Schema;
  props.metadata = { allOf: [{ $ref: OBJECT_META }], description: DESCRIPTIONS.metadata };
  props.apiVersion = { type: 'string', description: DESCRIPTIONS.apiVersion };
  props.kind = { type: 'string', description: DESCRIPTIONS.kind };
  props.status = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, description: DESCRIPTIONS.status };
  out.required = (Array.isArray(out.required) ? (out.required as string[]) : []).filter((r) => r === 'spec');
  out['x-kubernetes-group-version-kind'] = [{ group: DEVICE_GROUP, version: DEVICE_VERSION, kind }];
  return out;
}

/** The two device kinds' component schemas, keyed by their component names. */
export function deviceSchemas(): Record<string, Schema> {
  return {
    [DEVICE_SCHEMA_NAMES.Device]: kindSchema(deviceSchema, 'Device'),
    [DEVICE_SCHEMA_NAMES.DeviceModel]: kindSchema(deviceModelSchema, 'DeviceModel'),
  };
}
