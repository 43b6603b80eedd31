/**
 * devices.kubeedge.io/v1beta1 DeviceModel and Device. Validation reuses the node's schemas and
 * value rules (src/contract/resources/device.ts) and adds what only the API can see: a Device is
 * checked against its DeviceModel when it is created or its spec changes (model exists, every
 * property is in the model, desired values have the model's type and range and target ReadWrite
 * properties) — refused at `kubectl apply` instead of later on the node. Null handling as
 * Kubernetes does for custom resources: a null field is absent (an empty `configData:` in YAML),
 * except inside free maps. Custom kinds: no strategic merge (the API answers 415).
 */
import { AGE_COLUMN, ageOf, column, NAME_COLUMN } from '../../contract/kube/table.js';
import type { KubeObject } from '../../contract/kube/types.js';
import { checkDevice, deviceModelSpecSchema, deviceSpecSchema, type DeviceModelSpec } from '../../contract/resources/device.js';
import { nodeNameSchema } from '../../contract/resources/kinds.js';
import type { FieldIssue } from '../../core/errors.js';
import { arr, listCell, orNone, pruneNulls, rec, sameJson, schemaIssues, str } from './common.js';
import { deviceStatusSchema, reportedValues } from './device-status.js';
import type { KindContext, ResourceDef, Verb } from './types.js';

export const DEVICE_GROUP = 'devices.kubeedge.io';
const VERBS: Verb[] = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
/** free maps: what is written there is kept as written, nulls included */
const FREE_MAPS = new Set(['configData', 'protocolConfigData']);
const NUMERIC = new Set(['INT', 'FLOAT', 'DOUBLE']);

export function defaultDeviceObject(obj: KubeObject): void {
  pruneNulls(obj, FREE_MAPS);
}

const TOP_LEVEL = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);

/** The node's schema on spec (metadata is the machinery's), and no fields beside the Kubernetes ones. */
function shapeIssues(obj: KubeObject, spec: typeof deviceSpecSchema | typeof deviceModelSpecSchema): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const k of Object.keys(obj)) if (!TOP_LEVEL.has(k)) issues.push({ path: k, reason: 'unknown field' });
  if (obj.spec === undefined) issues.push({ path: 'spec', reason: 'Required value' });
  else issues.push(...schemaIssues(spec, obj.spec, 'spec'));
  return issues;
}

function uniqueNames(list: unknown, base: string): FieldIssue[] {
  const seen = new Set<string>();
  const issues: FieldIssue[] = [];
  arr(list).forEach((p, i) => {
    const name = str(rec(p)?.name);
    if (name && seen.has(name)) issues.push({ path: `${base}[${i}].name`, reason: `property ${name} is listed twice` });
    seen.add(name);
  });
  return issues;
}

/** DeviceModel: the node's schema, unique property names, and a numeric range that makes sense. */
export function validateDeviceModel(obj: KubeObject): FieldIssue[] {
  const issues = shapeIssues(obj, deviceModelSpecSchema);
  if (issues.length) return issues;
  issues.push(...uniqueNames(rec(obj.spec)?.properties, 'spec.properties'));
  const spec = deviceModelSpecSchema.parse(obj.spec);
  spec.properties.forEach((p, i) => {
    if (!NUMERIC.has(p.type)) return;
    const bound = (k: 'minimum' | 'maximum'): number | undefined => {
      const v = p[k];
      if (v === undefined || v === '') return undefined;
      const n = Number(v);
      if (!Number.isFinite(n)) issues.push({ path: `spec.properties[${i}].${k}`, reason: `"${v}" is not a number (type ${p.type})` });
      return Number.isFinite(n) ? n : undefined;
    };
    const min = bound('minimum');
    const max = bound('maximum');
    if (min !== undefined && max !== undefined && min > max) issues.push({ path: `spec.properties[${i}].minimum`, reason: `${p.minimum} is above the maximum ${p.maximum}` });
  });
  return issues;
}

async function modelOf(namespace: string, name: string, ctx: KindContext): Promise<{ spec?: DeviceModelSpec; issues: FieldIssue[] }> {
  const model = await ctx.get({ group: DEVICE_GROUP, resource: 'devicemodels', namespace, name });
  if (!model) return { issues: [] };
  const r = deviceModelSpecSchema.safeParse(model.spec);
  if (r.success) return { spec: r.data, issues: [] };
  return { issues: [{ path: 'spec.deviceModelRef.name', reason: `DeviceModel ${name} is invalid; fix it first` }] };
}

/** Status twins may only name the device's properties. */
function statusIssues(obj: KubeObject): FieldIssue[] {
  const issues = schemaIssues(deviceStatusSchema, obj.status, 'status');
  if (issues.length) return issues;
  const names = new Set(arr(rec(obj.spec)?.properties).map((p) => str(rec(p)?.name)));
  arr(rec(obj.status)?.twins).forEach((t, i) => {
    const name = str(rec(t)?.propertyName);
    if (!names.has(name)) issues.push({ path: `status.twins[${i}].propertyName`, reason: `the device has no property ${name}` });
  });
  return issues;
}

/**
 * Device: the node's schema; then, on create or when the spec changed, the cross-object rules
 * against its DeviceModel (read through ctx.get); status when it changed.
 */
export async function validateDevice(obj: KubeObject, old: KubeObject | undefined, ctx: KindContext): Promise<FieldIssue[]> {
  const issues = shapeIssues(obj, deviceSpecSchema);
  if (issues.length) return issues;
  const spec = deviceSpecSchema.parse(obj.spec);
  if (spec.nodeName) {
    issues.push(...schemaIssues(nodeNameSchema, spec.nodeName, 'spec.nodeName').map((i) => ({ ...i, reason: `${i.reason} (node names are DNS labels)` })));
  }
  if (!old || !sameJson(obj.spec, old.spec)) {
    const modelName = spec.deviceModelRef.name;
    const model = await modelOf(obj.metadata.namespace ?? 'default', modelName, ctx);
    issues.push(...model.issues);
    if (!model.issues.length) {
      // protocols are checked on the node, which knows its drivers; here any protocol may be a mapper's
      issues.push(...checkDevice(spec, model.spec, modelName, { builtin: new Map(), allowExternalMappers: true }));
    }
  }
  if (obj.status !== undefined && (!old || !sameJson(obj.status, old.status))) issues.push(...statusIssues(obj));
  return issues;
}

// ------------------------------------------------------------------ tables

export const DEVICE_MODEL_COLUMNS = [
  NAME_COLUMN,
  column('Protocol', 'The protocol devices of this model speak.'),
  column('Properties', 'The properties of the model.'),
  AGE_COLUMN,
];

export function deviceModelRow(obj: KubeObject, now: Date): unknown[] {
  const spec = rec(obj.spec) ?? {};
  return [obj.metadata.name ?? '', orNone(str(spec.protocol)), listCell(arr(spec.properties).map((p) => str(rec(p)?.name))), ageOf(obj.metadata.creationTimestamp, now)];
}

export const DEVICE_COLUMNS = [
  NAME_COLUMN,
  column('Model', 'The DeviceModel of the device.'),
  column('Node', 'The node that drives the device.'),
  column('State', 'The device state the node reports (online, offline, ok, unknown, unhealthy), or Invalid when the node refused the device.'),
  AGE_COLUMN,
  column('Protocol', 'The protocol the device speaks.', 1),
  column('Twins', 'Reported property values; name=reported->desired while a desired value is pending.', 1),
];

/** Reported twin values, with the desired value while one is pending. */
export function twinsCell(obj: KubeObject): string {
  const reported = reportedValues(obj.status);
  const cells: string[] = [];
  for (const p of arr(rec(obj.spec)?.properties)) {
    const name = str(rec(p)?.name);
    const desired = rec(rec(p)?.desired)?.value;
    const want = desired === undefined || desired === '' ? undefined : String(desired);
    const got = reported.get(name);
    if (got === undefined && want === undefined) continue;
    cells.push(want !== undefined && want !== got ? `${name}=${got ?? '<none>'}->${want}` : `${name}=${got}`);
  }
  return listCell(cells);
}

export function deviceRow(obj: KubeObject, now: Date): unknown[] {
  const spec = rec(obj.spec) ?? {};
  const status = rec(obj.status) ?? {};
  const state = arr(status.invalid).length ? 'Invalid' : str(status.state) || '<unknown>';
  return [
    obj.metadata.name ?? '',
    str(rec(spec.deviceModelRef)?.name),
    orNone(str(spec.nodeName)),
    state,
    ageOf(obj.metadata.creationTimestamp, now),
    orNone(str(rec(spec.protocol)?.protocolName)),
    twinsCell(obj),
  ];
}

// ------------------------------------------------------------------ definitions

export const deviceModelDef: ResourceDef = {
  group: DEVICE_GROUP,
  version: 'v1beta1',
  kind: 'DeviceModel',
  plural: 'devicemodels',
  singular: 'devicemodel',
  shortNames: ['dm'],
  categories: [],
  namespaced: true,
  verbs: VERBS,
  subresources: [],
  strategicMerge: false,
  statusSubresource: false,
  defaults: defaultDeviceObject,
  validate: (obj) => validateDeviceModel(obj),
  fields: (obj) => ({ 'spec.protocol': str(rec(obj.spec)?.protocol) }),
  columns: DEVICE_MODEL_COLUMNS,
  row: deviceModelRow,
  schemaName: 'io.kubeedge.devices.v1beta1.DeviceModel',
};

export const deviceDef: ResourceDef = {
  group: DEVICE_GROUP,
  version: 'v1beta1',
  kind: 'Device',
  plural: 'devices',
  singular: 'device',
  shortNames: ['dev'],
  categories: [],
  namespaced: true,
  verbs: VERBS,
  subresources: ['status'],
  strategicMerge: false,
  statusSubresource: true,
  // a custom resource with a status subresource ignores the status sent on create
  prepareForCreate: (obj) => {
    delete obj.status;
  },
  defaults: defaultDeviceObject,
  validate: validateDevice,
  fields: (obj) => {
    const spec = rec(obj.spec) ?? {};
    return { 'spec.nodeName': str(spec.nodeName), 'spec.deviceModelRef.name': str(rec(spec.deviceModelRef)?.name) };
  },
  columns: DEVICE_COLUMNS,
  row: deviceRow,
  schemaName: 'io.kubeedge.devices.v1beta1.Device',
};
