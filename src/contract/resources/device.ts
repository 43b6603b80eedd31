/**
 * DeviceModel and Device in the devices.kubeedge.io/v1beta1 shape, so a user's existing KubeEdge
 * YAML validates unchanged. Structures are strict (an unknown field is refused with its path);
 * free maps stay free where KubeEdge has them (configData, protocolConfigData, pushMethod,
 * desired.metadata). One edgecore extension: `properties[].reportFilter` (local filtering).
 *
 * Also here: the value rules shared by node, relay and edgectl (a desired value must parse as the
 * model type, respect minimum/maximum, and target a ReadWrite property).
 */
import type { FieldIssue } from '../../core/errors.js';
import * as z from 'zod';
import { parseOrThrow } from '../../lib/schema.js';

export const DEVICE_API_VERSION = 'devices.kubeedge.io/v1beta1';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const name = z.string().min(1).max(253).regex(DNS_SUBDOMAIN, 'must be a DNS subdomain: lower-case letters, digits, - and .');

/** Kubernetes metadata: name/namespace checked, the rest (uid, labels, managedFields...) kept as is. */
export const objectMeta = z.looseObject({
  name,
  namespace: name.optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

/** A free map (configData and friends). */
const freeMap = z.record(z.string(), z.unknown());
/** KubeEdge keeps these as strings; YAML authors sometimes write numbers. */
const stringish = z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v));

export const PROPERTY_TYPES = ['INT', 'FLOAT', 'DOUBLE', 'STRING', 'BOOLEAN', 'BYTES', 'STREAM'] as const;
export type PropertyType = (typeof PROPERTY_TYPES)[number];

const propertyType = z.preprocess((v) => (typeof v === 'string' ? v.toUpperCase() : v), z.enum(PROPERTY_TYPES));

export const visitorSchema = z.strictObject({
  protocolName: z.string().optional(),
  configData: freeMap.optional(),
});

export const modelPropertySchema = z.strictObject({
  name: z.string().min(1).max(128),
  description: z.string().optional(),
  type: propertyType,
  accessMode: z.enum(['ReadWrite', 'ReadOnly']).default('ReadOnly'),
  minimum: stringish.optional(),
  maximum: stringish.optional(),
  unit: z.string().optional(),
  visitors: visitorSchema.optional(),
});
export type ModelProperty = z.output<typeof modelPropertySchema>;

export const deviceModelSpecSchema = z.strictObject({
  protocol: z.string().optional(),
  protocolConfigData: freeMap.optional(),
  properties: z.array(modelPropertySchema).default([]),
});
export type DeviceModelSpec = z.output<typeof deviceModelSpecSchema>;

/** edgecore extension: how a property's samples are filtered before they are reported. */
export const reportFilterSchema = z.strictObject({
  /** cycle: latest sample each reportCycle; change: when the value changes; deadband: when it moves enough; aggregate: min/max/mean per reportCycle */
  mode: z.enum(['cycle', 'change', 'deadband', 'aggregate']).default('cycle'),
  /** deadband: report when |v - last reported| >= absolute ... */
  absolute: z.number().min(0).optional(),
  /** ... or >= percent % of |last reported| */
  percent: z.number().min(0).max(10_000).optional(),
  /** never report a property more often than this (ms); held values go out when it elapses */
  minIntervalMs: z.number().int().min(0).default(0),
});
export type ReportFilter = z.output<typeof reportFilterSchema>;

const cycle = z.number().int().min(0);

export const devicePropertySchema = z.strictObject({
  name: z.string().min(1).max(128),
  desired: z
    .strictObject({
      value: stringish.optional(),
      metadata: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
  visitors: visitorSchema.optional(),
  reportCycle: cycle.optional(),
  collectCycle: cycle.optional(),
  reportToCloud: z.boolean().optional(),
  /** accepted for compatibility; edgecore does not push to third-party sinks itself */
  pushMethod: freeMap.optional(),
  reportFilter: reportFilterSchema.optional(),
});
export type DeviceProperty = z.output<typeof devicePropertySchema>;

export const deviceSpecSchema = z.strictObject({
  deviceModelRef: z.strictObject({ name }),
  nodeName: z.string().optional(),
  protocol: z
    .strictObject({
      protocolName: z.string().optional(),
      configData: freeMap.optional(),
    })
    .optional(),
  methods: z
    .array(z.strictObject({ name: z.string(), description: z.string().optional(), propertyNames: z.array(z.string()).default([]) }))
    .optional(),
  stateReport: z.strictObject({ reportToCloud: z.boolean().optional(), reportCycle: cycle.optional() }).optional(),
  properties: z.array(devicePropertySchema).default([]),
});
export type DeviceSpec = z.output<typeof deviceSpecSchema>;

export const deviceModelSchema = z.strictObject({
  apiVersion: z.literal(DEVICE_API_VERSION),
  kind: z.literal('DeviceModel'),
  metadata: objectMeta,
  spec: deviceModelSpecSchema,
  status: z.unknown().optional(),
});
export const deviceSchema = z.strictObject({
  apiVersion: z.literal(DEVICE_API_VERSION),
  kind: z.literal('Device'),
  metadata: objectMeta,
  spec: deviceSpecSchema,
  status: z.unknown().optional(),
});
export type DeviceModelObject = z.output<typeof deviceModelSchema>;
export type DeviceObject = z.output<typeof deviceSchema>;

export function parseDeviceModel(obj: unknown): DeviceModelObject {
  return parseOrThrow(deviceModelSchema, obj, 'DeviceModel');
}
export function parseDevice(obj: unknown): DeviceObject {
  return parseOrThrow(deviceSchema, obj, 'Device');
}

// ---------------------------------------------------------------- values

export type TypedValue = number | boolean | string | Buffer;

const INT_RE = /^[-+]?\d+$/;
const FLOAT_RE = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const HEX_RE = /^([0-9a-fA-F]{2})*$/;

/** Parse a twin value string (KubeEdge carries every value as a string) as the model type. */
export function parseValue(type: PropertyType, s: string): { ok: true; value: TypedValue } | { ok: false; reason: string } {
  switch (type) {
    case 'INT':
      if (!INT_RE.test(s) || !Number.isSafeInteger(Number(s))) return { ok: false, reason: `"${s}" is not an integer (type INT)` };
      return { ok: true, value: Number(s) };
    case 'FLOAT':
    case 'DOUBLE':
      if (!FLOAT_RE.test(s)) return { ok: false, reason: `"${s}" is not a number (type ${type})` };
      return { ok: true, value: Number(s) };
    case 'BOOLEAN':
      if (s !== 'true' && s !== 'false') return { ok: false, reason: `"${s}" is not true or false (type BOOLEAN)` };
      return { ok: true, value: s === 'true' };
    case 'BYTES':
      if (!HEX_RE.test(s)) return { ok: false, reason: `"${s}" is not hex bytes (type BYTES)` };
      return { ok: true, value: Buffer.from(s, 'hex') };
    default:
      return { ok: true, value: s };
  }
}

/** Format a typed value as the twin's string. Numbers are checked against the type. */
export function formatValue(type: PropertyType, v: TypedValue): string {
  if (Buffer.isBuffer(v)) return type === 'BYTES' ? v.toString('hex') : v.toString('utf8');
  if (type === 'INT' && typeof v === 'number') return String(Math.round(v));
  if (type === 'BOOLEAN') return typeof v === 'number' ? String(v !== 0) : String(v === true || v === 'true');
  return String(v);
}

/** The range/type/access rules for a desired value. Returns the reason, or undefined when fine. */
export function checkDesiredValue(prop: ModelProperty, value: string): string | undefined {
  if (prop.accessMode !== 'ReadWrite') return `property ${prop.name} is ${prop.accessMode}: it cannot be written`;
  if (prop.type === 'STREAM') return `property ${prop.name} is a STREAM: it has no value to write`;
  const p = parseValue(prop.type, value);
  if (!p.ok) return p.reason;
  if (typeof p.value === 'number') {
    const min = prop.minimum !== undefined && prop.minimum !== '' ? Number(prop.minimum) : undefined;
    const max = prop.maximum !== undefined && prop.maximum !== '' ? Number(prop.maximum) : undefined;
    if (min !== undefined && Number.isFinite(min) && p.value < min) return `${value} is below the minimum ${prop.minimum}`;
    if (max !== undefined && Number.isFinite(max) && p.value > max) return `${value} is above the maximum ${prop.maximum}`;
  }
  return undefined;
}

export interface DeviceCheckOptions {
  /** protocols served by a built-in driver, with their config validators */
  builtin: Map<string, (protocolConfig: Record<string, unknown>, visitors: { property: string; config: Record<string, unknown> }[]) => FieldIssue[]>;
  /** may a protocol with no built-in driver be left to an external mapper? */
  allowExternalMappers: boolean;
}

/** The protocol a device speaks (Device spec first, then the model's). */
export function deviceProtocol(spec: DeviceSpec, model: DeviceModelSpec | undefined): string {
  return spec.protocol?.protocolName || model?.protocol || '';
}

/**
 * Cross-object rules for a parsed Device: its model exists, every property is in the model,
 * desired values fit, and its protocol is served. Paths are relative to the object (`spec...`).
 */
export function checkDevice(spec: DeviceSpec, model: DeviceModelSpec | undefined, modelName: string, opts: DeviceCheckOptions): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (!model) {
    issues.push({ path: 'spec.deviceModelRef.name', reason: `DeviceModel ${modelName} not found` });
    return issues;
  }
  const byName = new Map(model.properties.map((p) => [p.name, p]));
  const seen = new Set<string>();
  spec.properties.forEach((p, i) => {
    const base = `spec.properties[${i}]`;
    const mp = byName.get(p.name);
    if (seen.has(p.name)) issues.push({ path: `${base}.name`, reason: `property ${p.name} is listed twice` });
    seen.add(p.name);
    if (!mp) {
      issues.push({ path: `${base}.name`, reason: `unknown property: DeviceModel ${modelName} has no property ${p.name}` });
      return;
    }
    const v = p.desired?.value;
    if (v !== undefined && v !== '') {
      const why = checkDesiredValue(mp, v);
      if (why) issues.push({ path: `${base}.desired.value`, reason: why });
    }
    const f = p.reportFilter;
    if (f?.mode === 'deadband' && f.absolute === undefined && f.percent === undefined) {
      issues.push({ path: `${base}.reportFilter`, reason: 'deadband needs absolute or percent' });
    }
    if (f && (f.mode === 'deadband' || f.mode === 'aggregate') && !['INT', 'FLOAT', 'DOUBLE'].includes(mp.type)) {
      issues.push({ path: `${base}.reportFilter.mode`, reason: `${f.mode} needs a numeric property (${p.name} is ${mp.type})` });
    }
  });
  const protocol = deviceProtocol(spec, model);
  const validate = opts.builtin.get(protocol);
  if (!protocol) {
    issues.push({ path: 'spec.protocol.protocolName', reason: 'no protocol: set spec.protocol.protocolName or the model protocol' });
  } else if (validate) {
    const visitors = spec.properties.map((p) => ({
      property: p.name,
      config: { ...(byName.get(p.name)?.visitors?.configData ?? {}), ...(p.visitors?.configData ?? {}) },
    }));
    const cfg = { ...(model.protocolConfigData ?? {}), ...(spec.protocol?.configData ?? {}) };
    try {
      for (const i of validate(cfg, visitors)) issues.push({ path: i.path.startsWith('spec') ? i.path : `spec.${i.path}`, reason: i.reason });
    } catch (e) {
      issues.push({ path: 'spec.protocol.configData', reason: e instanceof Error ? e.message : String(e) });
    }
  } else if (!opts.allowExternalMappers) {
    issues.push({ path: 'spec.protocol.protocolName', reason: `unknown protocol ${protocol}: no built-in driver and external mappers are disabled` });
  }
  return issues;
}
