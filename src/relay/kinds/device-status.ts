/**
 * Device status as KubeEdge writes it (devices.kubeedge.io/v1beta1): `twins[]` with `reported`
 * and `observedDesired` ({value, metadata: {timestamp, type}}), `state` and `lastOnlineTime`,
 * plus edgecore's own fields (error counts, the last error, why the node refused the device).
 * Also the mapping from what a node's devicetwin reports.
 */
import * as z from 'zod';
import { parseOrThrow } from '../../lib/schema.js';
import { arr, rec, str } from './common.js';

const DEVICE_STATES = ['online', 'offline', 'ok', 'unknown', 'unhealthy'] as const;
const text = (max: number) => z.string().max(max);
const twinValue = z.strictObject({
  value: text(65_536),
  metadata: z.record(z.string().max(64), text(256)).optional(),
});

export const deviceTwinSchema = z.strictObject({
  propertyName: z.string().min(1).max(128),
  reported: twinValue.optional(),
  observedDesired: twinValue.optional(),
});
export type DeviceTwinStatus = z.output<typeof deviceTwinSchema>;

/** Device.status: KubeEdge's fields, then edgecore's. */
export const deviceStatusSchema = z.strictObject({
  twins: z.array(deviceTwinSchema).max(1024).optional(),
  // KubeEdge takes these case-insensitively (a mapper may send "OK")
  state: z
    .string()
    .refine((v) => (DEVICE_STATES as readonly string[]).includes(v.toLowerCase()), `must be one of ${DEVICE_STATES.join(', ')}`)
    .optional(),
  lastOnlineTime: text(64).optional(),
  reportToCloud: z.boolean().optional(),
  reportCycle: z.number().int().min(0).optional(),
  errorCount: z.number().int().min(0).optional(),
  consecutiveErrors: z.number().int().min(0).optional(),
  lastError: text(4096).optional(),
  lastErrorTime: text(64).optional(),
  /** the node refused this Device (it is not driven until fixed) */
  invalid: z.array(z.strictObject({ path: text(512), reason: text(1024) })).max(64).optional(),
});
export type DeviceStatus = z.output<typeof deviceStatusSchema>;

/**
 * What a node's devicetwin reports (its status carries twin versions and the spec's desired
 * value as well), reduced to the KubeEdge shape. Throws ValidationError naming a bad field.
 */
export function deviceStatusFromReport(report: unknown): DeviceStatus {
  const r = rec(report);
  const out: Record<string, unknown> = {};
  if (r) {
    for (const k of ['state', 'lastOnlineTime', 'reportToCloud', 'reportCycle', 'errorCount', 'consecutiveErrors', 'lastError', 'lastErrorTime', 'invalid']) {
      if (r[k] !== undefined && r[k] !== null) out[k] = r[k];
    }
    if (Array.isArray(r.twins)) {
      out.twins = arr(r.twins).map((t) => {
        const o = rec(t);
        if (!o) return t;
        return {
          propertyName: o.propertyName,
          ...(o.reported !== undefined ? { reported: o.reported } : {}),
          ...(o.observedDesired !== undefined ? { observedDesired: o.observedDesired } : {}),
        };
      });
    }
  }
  return parseOrThrow(deviceStatusSchema, r ? out : report, 'Device report', 'status');
}

/** The reported value of each twin, by property name. */
export function reportedValues(status: unknown): Map<string, string> {
  const m = new Map<string, string>();
  for (const t of arr(rec(status)?.twins)) {
    const o = rec(t);
    const v = rec(o?.reported)?.value;
    if (o && typeof v === 'string') m.set(str(o.propertyName), v);
  }
  return m;
}
