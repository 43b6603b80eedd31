/**
 * Payloads of the node ⇄ relay wire contract (see topics.ts), as schemas: JSON on the wire,
 * parsed at each edge — the node parses what the relay sends (`desired`, `rpc/request`), the
 * relay parses everything a node sends — so garbage is refused there, with field paths, and
 * never reaches either side's code. Unknown fields are dropped (a newer peer may add some);
 * known ones must have their type. Types are derived from the schemas.
 */
import type { FieldIssue } from '../core/errors.js';
import * as z from 'zod';
import { nestedDeeperThan } from '../lib/json.js';
import { toFieldIssues } from '../lib/schema.js';
import { type ERROR_CODES, fieldIssueSchema } from './errors.js';
import { nodeMeshReportSchema } from './mesh.js';
import { nodeHostReportSchema } from './node-status.js';

/** ms since epoch that make a valid date */
const ms = z.number().int().min(0).max(8.64e15);
const count = z.number().int().min(0);
const text = (max: number) => z.string().max(max);
const kind = z.string().min(1).max(63);
const namespace = text(63);
const objectName = z.string().min(1).max(253);

/** The fields every upstream message carries: which object, the applied version, when; and, set when sent, the outbox sequence. */
const upstream = {
  kind,
  namespace,
  name: objectName,
  /** the desired document version the node had applied when it produced this */
  desiredVersion: count,
  timestamp: ms,
  /** set by edgehub when sending: the outbox sequence number (dedup + order at the relay) */
  seq: z.number().int().min(1).optional(),
  /** set by edgehub when sending: the id of the node store the seq belongs to */
  stream: z.string().min(1).max(64).optional(),
};

/** node → relay on `reported/state`: the latest status of one object (coalesced per object in the node's outbox). */
export const reportedStateSchema = z.object({
  ...upstream,
  /**
   * the uid of the object as the node holds it (from its desired item): the relay writes the
   * status only onto that incarnation, never onto an object recreated under the same name
   */
  uid: z.string().min(1).max(64).optional(),
  /** the object's status (pod status, device twins and state, node status) */
  status: z.unknown(),
});
export type ReportedState = z.output<typeof reportedStateSchema>;

/** node → relay on `reported/telemetry`: one event or sample, appended. */
export const reportedTelemetrySchema = z.object({
  ...upstream,
  /** e.g. "twin.reported" */
  event: z.string().min(1).max(63),
  data: z.unknown(),
});
export type ReportedTelemetry = z.output<typeof reportedTelemetrySchema>;

/**
 * The `event` of one device sample as the relay's telemetry log keeps it (`data`: a TwinSample).
 * Nodes before TWIN_SAMPLES sent one such message per sample; the relay still reads them.
 */
export const TWIN_REPORTED = 'twin.reported';

/**
 * The `event` of a ReportedTelemetry that carries the samples one device reported in one tick
 * (`data`: TwinSamples): one message per device and tick instead of one per property. The relay
 * keeps each sample as its own TWIN_REPORTED row, so readers of the log see the same rows.
 */
export const TWIN_SAMPLES = 'twin.samples';

/** One sample of a device property: the value as the twin holds it (text), its type, when it was read. */
export const twinSampleSchema = z.object({
  property: z.string().min(1).max(128),
  value: text(4096),
  type: text(32),
  sampledAt: ms,
  /** the report filter's aggregate of the cycle (`aggregate` mode) */
  aggregate: z.object({ min: z.number(), max: z.number(), mean: z.number(), count }).optional(),
});
export type TwinSample = z.output<typeof twinSampleSchema>;

/** `data` of a TWIN_SAMPLES report: at most one sample per twin of the device (256). */
export const twinSamplesSchema = z.object({ samples: z.array(twinSampleSchema).min(1).max(256) });
export type TwinSamples = z.output<typeof twinSamplesSchema>;

/**
 * The `event` of a ReportedTelemetry that carries an ObjectEvent: something that happened to
 * one object on the node (edged's Pulled, Created, Started, Killing, BackOff, Unhealthy, Failed;
 * devicetwin's DeviceOnline/DeviceOffline). The relay turns it into a core/v1 Event.
 */
export const OBJECT_EVENT = 'object.event';

/** `data` of an OBJECT_EVENT report: Kubernetes' Event fields the node decides. */
export const objectEventSchema = z.object({
  type: z.enum(['Normal', 'Warning']),
  /** CamelCase, as Kubernetes' reasons are */
  reason: z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,127}$/, 'must be a CamelCase reason (letters and digits, at most 128)'),
  message: text(4096),
  /** the part of the object, e.g. `spec.containers{web}` */
  fieldPath: text(256).optional(),
  /** who on the node saw it (kubelet for edged, devicetwin) */
  component: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'must be a lower-case component name').optional(),
  /** the uid of the object as the node holds it (events about an older incarnation are dropped) */
  uid: z.string().min(1).max(64).optional(),
});
export type ObjectEvent = z.output<typeof objectEventSchema>;

/** Node status: a ReportedState with kind 'Node', namespace '', name = node. */
export const nodeReportedStatusSchema = z.object({
  appliedVersion: count,
  epoch: text(128),
  agentVersion: text(64),
  bootId: text(64),
  arch: text(32),
  platform: text(32),
  /** last desired document rejected (validation or stale), if any */
  lastError: text(4096).optional(),
  outbox: z.object({ rows: count, dropped: count }),
  /** the host report (src/contract/node-status.ts): machine, runtime, conditions, usage */
  ...nodeHostReportSchema.shape,
  /** the node's mesh identity (mesh.ts): the relay publishes it on the Node for the node's peers */
  mesh: nodeMeshReportSchema.optional(),
});
export type NodeReportedStatus = z.output<typeof nodeReportedStatusSchema>;

const DEVICE_API = 'devices.kubeedge.io/v1beta1';

/**
 * Relays from before the manifest contract shipped only `.spec` of a Device or DeviceModel: such
 * an item (no apiVersion, kind or metadata) is read as the manifest its item names, so a node
 * upgraded before its relay keeps its devices.
 */
function manifestOfLegacyItem(item: unknown): unknown {
  if (!item || typeof item !== 'object') return item;
  const i = item as Record<string, unknown>;
  const spec = i.spec as Record<string, unknown> | undefined;
  if ((i.kind !== 'Device' && i.kind !== 'DeviceModel') || !spec || typeof spec !== 'object' || Array.isArray(spec)) return item;
  if ('apiVersion' in spec || 'kind' in spec || 'metadata' in spec) return item;
  return { ...i, spec: { apiVersion: DEVICE_API, kind: i.kind, metadata: { name: i.name, namespace: i.namespace }, spec } };
}

/** One object in a node's desired document. `spec` is the whole manifest (apiVersion, kind, metadata, spec/data...), named by the item. */
export const desiredItemSchema = z.preprocess(
  manifestOfLegacyItem,
  z
    .object({
      kind,
      namespace,
      name: objectName,
      uid: z.string().min(1).max(64),
      /** relay-side generation of this object (bumped on each change of its manifest) */
      generation: count,
      spec: z.looseObject({ kind: z.string(), metadata: z.looseObject({ name: z.string(), namespace: z.string().optional() }) }),
    })
    .superRefine((it, ctx) => {
      if (it.spec.kind !== it.kind) ctx.addIssue({ code: 'custom', path: ['spec', 'kind'], message: `must be "${it.kind}" (the item's kind)` });
      if (it.spec.metadata.name !== it.name) ctx.addIssue({ code: 'custom', path: ['spec', 'metadata', 'name'], message: `must be "${it.name}" (the item's name)` });
      if ((it.spec.metadata.namespace ?? 'default') !== it.namespace) {
        ctx.addIssue({ code: 'custom', path: ['spec', 'metadata', 'namespace'], message: `must be "${it.namespace}" (the item's namespace)` });
      }
    }),
);
export type DesiredItem = z.output<typeof desiredItemSchema>;

/**
 * relay → node on `desired` (retained): everything the node should run, nothing else.
 * Level-triggered: the node replaces its cloud-origin objects with exactly `items`.
 * A document whose (epoch, version) is not newer than the applied one is rejected as stale.
 */
export const desiredDocumentSchema = z
  .object({
    node: z.string(),
    /** identifies the relay's store; a new epoch (store recreated) restarts version ordering */
    epoch: z.string().min(1).max(128),
    /** per-node, strictly increasing with every change of this node's set */
    version: z.number().int().min(1),
    /** every kind the relay syncs; kinds absent from `items` are emptied on the node */
    kinds: z.array(kind),
    items: z.array(desiredItemSchema),
    /**
     * The labels of this node's Node object as the relay has it (`kubectl label node` included):
     * the node judges pods' nodeSelector and required node affinity against them, as a kubelet
     * judges them against its Node. Absent from an older relay: the node's own labels only.
     */
    labels: z.record(z.string().min(1).max(317), z.string().max(63)).refine((r) => Object.keys(r).length <= 256, 'at most 256 labels').optional(),
    timestamp: ms,
  })
  .superRefine(
    (d, ctx) => {
      // runs even when some item is malformed (every issue at once); items are read defensively
      const seen = new Set<string>();
      (d.items as unknown[]).forEach((raw, i) => {
        const it = (raw ?? {}) as { kind?: unknown; namespace?: unknown; name?: unknown };
        const key = `${String(it.kind)}/${String(it.namespace)}/${String(it.name)}`;
        if (seen.has(key)) ctx.addIssue({ code: 'custom', path: ['items', i], message: `duplicate ${key}` });
        seen.add(key);
      });
    },
    { when: (p) => Array.isArray((p.value as { items?: unknown } | undefined)?.items) },
  );
export type DesiredDocument = z.output<typeof desiredDocumentSchema>;

/** node → relay on `sync`: sent on every connect; the relay answers by republishing `desired`. */
export const syncRequestSchema = z.object({
  epoch: text(128),
  appliedVersion: count,
  bootId: text(64),
  timestamp: ms,
});
export type SyncRequest = z.output<typeof syncRequestSchema>;

/** node → relay on `presence` (retained). The Last Will carries `online: false`. */
export const presenceSchema = z.object({
  online: z.boolean(),
  bootId: text(64),
  agentVersion: text(64),
  timestamp: ms,
  /**
   * in the Last Will: which connect attempt of this boot (1, 2, ...) the CONNECT belongs to; the
   * embedded broker refuses an attempt older than one it already accepted (a late, abandoned one)
   */
  attempt: z.number().int().min(1).optional(),
});
export type Presence = z.output<typeof presenceSchema>;

/** node → relay on `heartbeat` (QoS0): small on purpose (idle uplink budget). */
export const heartbeatSchema = z.object({
  /** applied desired version */
  v: count,
  /** outbox rows waiting */
  q: count,
  /** ms since epoch */
  t: ms,
});
export type Heartbeat = z.output<typeof heartbeatSchema>;

export const RPC_METHODS = ['twin.get', 'twin.set'] as const;
export type RpcMethod = (typeof RPC_METHODS)[number];

const rpcId = z.string().min(1).max(64);

/** relay → node on `rpc/request`. Requests past their deadline are ignored by the node. */
export const rpcRequestSchema = z.object({
  id: rpcId,
  method: z.enum(RPC_METHODS),
  params: z.record(z.string(), z.unknown()),
  /** ms since epoch */
  deadline: ms,
});
export type RpcRequest = z.output<typeof rpcRequestSchema>;

/** relay → node on `rpc/request` to stop a call whose client went away. */
export const rpcCancelSchema = z.object({ id: rpcId, cancel: z.literal(true) });
export type RpcCancel = z.output<typeof rpcCancelSchema>;

/** The codes a node may answer with; anything else reads as `Failed` (a node does not speak for the relay). */
export const RPC_ERROR_CODES = ['Invalid', 'NotFound', 'Conflict', 'NotImplemented', 'Timeout', 'Failed'] as const satisfies readonly (typeof ERROR_CODES)[number][];

/** node → relay on `rpc/response`. A stream is chunks (`data`) ending with `done: true`. */
export const rpcResponseSchema = z.object({
  id: rpcId,
  /** chunk number within this call, from 0 */
  n: count,
  data: z.unknown().optional(),
  done: z.boolean(),
  error: z
    .object({
      code: z.enum(RPC_ERROR_CODES).catch('Failed'),
      message: text(65536),
      issues: z.array(fieldIssueSchema).max(1000).optional(),
    })
    .optional(),
});
export type RpcResponse = z.output<typeof rpcResponseSchema>;

/**
 * How deep a payload's objects and arrays may nest. What edgecore sends nests ~10 levels, an API
 * object at most 100 (the relay's request limit) inside a document; deeper is refused before any
 * code walks it recursively (a 2,000-level status once overflowed the relay's stack).
 */
export const PAYLOAD_MAX_DEPTH = 128;

/** Parse a payload (JSON bytes) against a schema: the value, or why it was refused (field paths). */
export function parsePayload<S extends z.ZodType>(schema: S, payload: Buffer | string): { ok: true; value: z.output<S> } | { ok: false; issues: FieldIssue[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
  } catch {
    return { ok: false, issues: [{ path: '', reason: 'not JSON' }] };
  }
  if (nestedDeeperThan(raw, PAYLOAD_MAX_DEPTH)) return { ok: false, issues: [{ path: '', reason: `nests deeper than ${PAYLOAD_MAX_DEPTH} levels` }] };
  const r = schema.safeParse(raw);
  return r.success ? { ok: true, value: r.data } : { ok: false, issues: toFieldIssues(r.error) };
}
