/**
 * The KubeEdge mapper contract on the node-local MQTT broker (served by the node's eventbus):
 * every `$hw/…` and `$ke/…` topic edgecore serves or publishes, every payload type (JSON field
 * names as on the wire), and the validation of what mappers send. Values are strings;
 * timestamps are ms since epoch. Errors go back with the numeric codes of `mapperCodeOf`
 * (errors.ts). The node-side shapes it reads and returns (twins, patches, devices) are declared
 * here structurally, so the contract depends on no module.
 *
 * Device ids in topics come in two forms: `{name}` (KubeEdge ≤ 1.16 and mappers-go; namespace
 * `default`) and `{namespace}/{name}` (KubeEdge ≥ 1.17). Both are accepted; results go back on
 * the form the request used.
 */
import { WireError } from './errors.js';
import { nestedDeeperThan } from '../lib/json.js';

export const DEVICE_PREFIX = '$hw/events/device/';
export const NODE_PREFIX = '$hw/events/node/';
export const DEFAULT_NAMESPACE = 'default';

/** A device as the topics name it. */
export interface DeviceRef {
  namespace: string;
  name: string;
}

/** A twin as the node keeps it (what the encoders read). */
export interface TwinView {
  expected?: { value: string; timestamp: number };
  actual?: { value: string; timestamp: number };
  type: string;
  optional: boolean;
  expectedVersion: WireVersion;
  actualVersion: WireVersion;
}

/** One twin of a validated `…/twin/update`: absent fields are left alone. */
export interface TwinPatchEntry {
  expected?: string;
  actual?: string;
  type?: string;
  optional?: boolean;
  expectedVersion?: WireVersion;
  actualVersion?: WireVersion;
}
/** A validated `…/twin/update`: `null` deletes the twin. */
export type TwinPatch = Record<string, TwinPatchEntry | null>;

/** A device bound to the node, as membership messages describe it. */
export interface MemberView {
  namespace: string;
  name: string;
  description: string;
  state: string;
  lastOnlineTime?: string;
  twins: Record<string, TwinView>;
}

export const hwTopics = {
  /** every device topic edgecore listens on (one filter covers both id forms) */
  deviceFilter: `${DEVICE_PREFIX}#`,
  twinUpdate: (id: string) => `${DEVICE_PREFIX}${id}/twin/update`,
  twinUpdateResult: (id: string) => `${DEVICE_PREFIX}${id}/twin/update/result`,
  twinUpdateDelta: (id: string) => `${DEVICE_PREFIX}${id}/twin/update/delta`,
  twinUpdateDocument: (id: string) => `${DEVICE_PREFIX}${id}/twin/update/document`,
  twinGet: (id: string) => `${DEVICE_PREFIX}${id}/twin/get`,
  twinGetResult: (id: string) => `${DEVICE_PREFIX}${id}/twin/get/result`,
  stateUpdate: (id: string) => `${DEVICE_PREFIX}${id}/state/update`,
  stateUpdateResult: (id: string) => `${DEVICE_PREFIX}${id}/state/update/result`,
  membershipGet: (node: string) => `${NODE_PREFIX}${node}/membership/get`,
  membershipGetResult: (node: string) => `${NODE_PREFIX}${node}/membership/get/result`,
  membershipUpdated: (node: string) => `${NODE_PREFIX}${node}/membership/updated`,
  /** time-series data for local consumers (not subscribed by edgecore) */
  dataUpdate: (id: string) => `$ke/events/device/${id}/data/update`,
} as const;

/** What a mapper may send on a device topic. */
export type DeviceRequestKind = 'twin/update' | 'twin/get' | 'state/update';
const REQUEST_SUFFIXES: DeviceRequestKind[] = ['twin/update', 'twin/get', 'state/update'];

export interface ParsedDeviceTopic {
  kind: DeviceRequestKind;
  /** the id exactly as in the topic (results go back on it) */
  id: string;
  device: DeviceRef;
}

/** A device request topic, or undefined for anything else (results, delta, document, unknown). */
export function parseDeviceTopic(topic: string): ParsedDeviceTopic | undefined {
  if (!topic.startsWith(DEVICE_PREFIX)) return undefined;
  const rest = topic.slice(DEVICE_PREFIX.length);
  for (const kind of REQUEST_SUFFIXES) {
    if (!rest.endsWith(`/${kind}`)) continue;
    const id = rest.slice(0, -kind.length - 1);
    const parts = id.split('/');
    if (parts.some((p) => p === '')) return undefined;
    if (parts.length === 1) return { kind, id, device: { namespace: DEFAULT_NAMESPACE, name: parts[0]! } };
    if (parts.length === 2) return { kind, id, device: { namespace: parts[0]!, name: parts[1]! } };
    return undefined;
  }
  return undefined;
}

/** The ids a device is published under: `{ns}/{name}`, and `{name}` for the default namespace when legacy ids are on. */
export function deviceIds(ref: DeviceRef, legacy: boolean): string[] {
  const ids = [`${ref.namespace}/${ref.name}`];
  if (legacy && ref.namespace === DEFAULT_NAMESPACE) ids.push(ref.name);
  return ids;
}

// ------------------------------------------------------------------ payloads

export interface BaseMessage {
  event_id: string;
  /** ms since epoch */
  timestamp: number;
}
export interface WireValue {
  value?: string;
  metadata?: { timestamp?: number };
}
export interface WireVersion {
  cloud: number;
  edge: number;
}
export interface MsgTwin {
  expected?: WireValue;
  actual?: WireValue;
  optional?: boolean;
  metadata?: { type: string };
  expected_version?: WireVersion;
  actual_version?: WireVersion;
}
/** mapper → `…/twin/update` */
export interface TwinUpdateMessage extends BaseMessage {
  twin: Record<string, MsgTwin | null>;
}
/** `…/twin/update/result`, `…/twin/get/result` */
export interface TwinResultMessage extends BaseMessage {
  twin: Record<string, MsgTwin>;
}
export interface ErrorResultMessage extends BaseMessage {
  code: 400 | 404 | 409 | 500;
  reason: string;
}
/** `…/twin/update/delta` */
export interface TwinDeltaMessage extends BaseMessage {
  twin: Record<string, MsgTwin>;
  delta: Record<string, string>;
}
/** `…/twin/update/document` */
export interface TwinDocumentMessage extends BaseMessage {
  twin: Record<string, { last: MsgTwin | null; current: MsgTwin | null }>;
}
/** mapper → `…/state/update` (the key may be `State`: matched case-insensitively) */
export interface StateUpdateMessage extends BaseMessage {
  state: string;
}
/** `…/state/update/result` */
export interface StateResultMessage extends BaseMessage {
  device: { name: string; state: string; lastOnlineTime: string };
}
export interface WireAttribute {
  value: string;
  optional: boolean;
  metadata: { type: string };
}
export interface WireDevice {
  id: string;
  name: string;
  description: string;
  state: string;
  last_online: string;
  attributes: Record<string, WireAttribute>;
  twin?: Record<string, MsgTwin>;
}
/** `$hw/events/node/{node}/membership/get/result` */
export interface MembershipGetResultMessage extends BaseMessage {
  devices: WireDevice[];
}
/** `$hw/events/node/{node}/membership/updated` */
export interface MembershipUpdatedMessage extends BaseMessage {
  added_devices: WireDevice[];
  removed_devices: WireDevice[];
}
/** `$ke/events/device/{id}/data/update` */
export interface DataUpdateMessage extends BaseMessage {
  data: Record<string, { value: string; metadata: { timestamp: number; type: string } }>;
}

// ------------------------------------------------------------------ validation (refusals are WireError 'Invalid': 400 on the wire)

export const TWIN_KEY_RE = /^[a-zA-Z0-9-_.,:/@#]{1,128}$/;
export const TWIN_VALUE_RE = /^[a-zA-Z0-9-_.,:/@#]{1,512}$/;
export const WIRE_TYPES = ['', 'string', 'int', 'integer', 'float', 'boolean', 'deleted'] as const;

/**
 * What one mapper message may hold (a mapper is local but no more trusted than any peer): the
 * broker refuses larger packets, the parser deeper nesting and more twins per update. A twin
 * update nests 5 levels (`twin.<name>.actual.metadata.timestamp`).
 */
export const MAPPER_LIMITS = {
  /** bytes of one payload (100 twins of 512-character values fit several times) */
  maxPayloadBytes: 64 * 1024,
  /** nesting of a payload's objects and arrays */
  maxDepth: 6,
  /** twins in one `twin/update` */
  maxTwinsPerUpdate: 128,
} as const;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseJson(payload: Buffer): Record<string, unknown> {
  if (payload.length > MAPPER_LIMITS.maxPayloadBytes) throw new WireError('Invalid', `payload of ${payload.length} bytes is over the ${MAPPER_LIMITS.maxPayloadBytes}-byte limit`);
  let v: unknown;
  try {
    v = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new WireError('Invalid', 'payload is not JSON');
  }
  if (!isObj(v)) throw new WireError('Invalid', 'payload must be a JSON object');
  if (nestedDeeperThan(v, MAPPER_LIMITS.maxDepth)) throw new WireError('Invalid', `payload nests deeper than ${MAPPER_LIMITS.maxDepth} levels`);
  return v;
}

/** Refuse fields a contract object does not have (KubeEdge's Go structs would ignore them; a twin must not carry what nobody reads). */
function onlyFields(path: string, o: Record<string, unknown>, allowed: readonly string[]): void {
  const extra = Object.keys(o).find((k) => !allowed.includes(k));
  if (extra !== undefined) throw new WireError('Invalid', `${path}.${extra.slice(0, 64)}: unknown field (a twin has ${allowed.join(', ')})`);
}

export function eventId(m: Record<string, unknown>): string {
  return typeof m.event_id === 'string' ? m.event_id : '';
}

function checkTyped(path: string, type: string, value: string): void {
  if ((type === 'int' || type === 'integer') && !/^[-+]?\d+$/.test(value)) throw new WireError('Invalid', `${path}: "${value}" is not an int`);
  if (type === 'float' && !Number.isFinite(Number(value))) throw new WireError('Invalid', `${path}: "${value}" is not a float`);
  if (type === 'boolean' && value !== 'true' && value !== 'false') throw new WireError('Invalid', `${path}: "${value}" is not a boolean`);
}

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

function parseVersion(path: string, v: unknown): WireVersion | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v) || !isCount(v.cloud) || !isCount(v.edge)) throw new WireError('Invalid', `${path}: must be {cloud:int, edge:int}`);
  onlyFields(path, v, ['cloud', 'edge']);
  return { cloud: v.cloud, edge: v.edge };
}

function parseValueField(path: string, v: unknown, type: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) throw new WireError('Invalid', `${path}: must be an object {value}`);
  onlyFields(path, v, ['value', 'metadata']);
  if (v.metadata !== undefined && v.metadata !== null) {
    if (!isObj(v.metadata)) throw new WireError('Invalid', `${path}.metadata: must be {timestamp: int}`);
    onlyFields(`${path}.metadata`, v.metadata, ['timestamp']);
    if (v.metadata.timestamp !== undefined && !isCount(v.metadata.timestamp)) throw new WireError('Invalid', `${path}.metadata.timestamp: must be ms since epoch`);
  }
  if (v.value === undefined) return undefined;
  if (typeof v.value !== 'string') throw new WireError('Invalid', `${path}.value: must be a string`);
  if (!TWIN_VALUE_RE.test(v.value)) throw new WireError('Invalid', `${path}.value: "${v.value.slice(0, 64)}" does not match ${TWIN_VALUE_RE.source}`);
  checkTyped(`${path}.value`, type, v.value);
  return v.value;
}

/** The fields of a MsgTwin on the wire. */
const TWIN_FIELDS = ['expected', 'actual', 'optional', 'metadata', 'expected_version', 'actual_version'] as const;

/** Validate a `…/twin/update` payload into a twin patch (400 on anything malformed: unknown fields too). */
export function parseTwinUpdate(m: Record<string, unknown>): TwinPatch {
  if (!isObj(m.twin)) throw new WireError('Invalid', 'twin: missing (an object of twin name → {actual|expected})');
  const entries = Object.entries(m.twin);
  if (entries.length > MAPPER_LIMITS.maxTwinsPerUpdate) throw new WireError('Invalid', `twin: ${entries.length} twins in one update; at most ${MAPPER_LIMITS.maxTwinsPerUpdate}`);
  const patch: TwinPatch = {};
  for (const [key, raw] of entries) {
    if (!TWIN_KEY_RE.test(key)) throw new WireError('Invalid', `twin.${key.slice(0, 64)}: name does not match ${TWIN_KEY_RE.source}`);
    if (raw === null) {
      patch[key] = null;
      continue;
    }
    if (!isObj(raw)) throw new WireError('Invalid', `twin.${key}: must be an object or null`);
    onlyFields(`twin.${key}`, raw, TWIN_FIELDS);
    let type = '';
    if (raw.metadata !== undefined && raw.metadata !== null) {
      if (!isObj(raw.metadata) || (raw.metadata.type !== undefined && typeof raw.metadata.type !== 'string')) {
        throw new WireError('Invalid', `twin.${key}.metadata: must be {type: string}`);
      }
      onlyFields(`twin.${key}.metadata`, raw.metadata, ['type']);
      type = (raw.metadata.type as string | undefined) ?? '';
    }
    if (!(WIRE_TYPES as readonly string[]).includes(type)) throw new WireError('Invalid', `twin.${key}.metadata.type: "${type.slice(0, 64)}" is not one of ${WIRE_TYPES.filter(Boolean).join(', ')}`);
    if (type === 'deleted') {
      patch[key] = null;
      continue;
    }
    if (raw.optional !== undefined && typeof raw.optional !== 'boolean') throw new WireError('Invalid', `twin.${key}.optional: must be a boolean`);
    const e: TwinPatchEntry = {};
    const expected = parseValueField(`twin.${key}.expected`, raw.expected, type);
    const actual = parseValueField(`twin.${key}.actual`, raw.actual, type);
    if (expected !== undefined) e.expected = expected;
    if (actual !== undefined) e.actual = actual;
    if (type) e.type = type === 'integer' ? 'int' : type;
    if (typeof raw.optional === 'boolean') e.optional = raw.optional;
    const ev = parseVersion(`twin.${key}.expected_version`, raw.expected_version);
    const av = parseVersion(`twin.${key}.actual_version`, raw.actual_version);
    if (ev) e.expectedVersion = ev;
    if (av) e.actualVersion = av;
    patch[key] = e;
  }
  return patch;
}

/** The `state` of a `…/state/update` payload; the key is matched case-insensitively (Go decoding). */
export function parseStateUpdate(m: Record<string, unknown>): string {
  const k = Object.keys(m).find((x) => x.toLowerCase() === 'state');
  const v = k === undefined ? undefined : m[k];
  if (typeof v !== 'string' || v === '') throw new WireError('Invalid', 'state: missing (a string: online, offline, ok, unknown or unhealthy)');
  return v;
}

// ------------------------------------------------------------------ encoding

/** A twin on the wire; `withVersions` false for mapper-facing results. */
export function toMsgTwin(t: TwinView, withVersions: boolean): MsgTwin {
  const out: MsgTwin = {};
  if (t.expected) out.expected = { value: t.expected.value, metadata: { timestamp: t.expected.timestamp } };
  if (t.actual) out.actual = { value: t.actual.value, metadata: { timestamp: t.actual.timestamp } };
  out.optional = t.optional;
  out.metadata = { type: t.type };
  if (withVersions) {
    out.expected_version = { ...t.expectedVersion };
    out.actual_version = { ...t.actualVersion };
  }
  return out;
}

export function twinMap(twins: Record<string, TwinView>, withVersions: boolean): Record<string, MsgTwin> {
  const out: Record<string, MsgTwin> = {};
  for (const [k, t] of Object.entries(twins)) if (t.type !== 'deleted') out[k] = toMsgTwin(t, withVersions);
  return out;
}

export function toWireDevice(d: MemberView, withTwin: boolean): WireDevice {
  const attributes: Record<string, WireAttribute> = {};
  return {
    id: `${d.namespace}/${d.name}`,
    name: d.name,
    description: d.description,
    state: d.state,
    last_online: d.lastOnlineTime ?? '',
    attributes,
    ...(withTwin ? { twin: twinMap(d.twins, false) } : {}),
  };
}
