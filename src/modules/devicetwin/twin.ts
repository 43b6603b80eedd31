/**
 * The twin of one device, as KubeEdge keeps it: per property an expected (desired) and an actual
 * (reported) value — strings, with ms timestamps — each with a version vector {cloud, edge}.
 * Pure functions: a patch in, a new document and what changed out. Persisted as the Device's
 * resource status (v1beta1-like `twins[]`), so it survives restarts with the device.
 */
import { ConflictError, ValidationError, type FieldIssue } from '../../core/errors.js';
import type { DeviceModelSpec, DeviceSpec, ModelProperty, PropertyType } from '../../contract/resources/device.js';

export interface TwinVersion {
  cloud: number;
  edge: number;
}
export interface TwinValue {
  value: string;
  /** ms since epoch */
  timestamp: number;
}
export interface Twin {
  expected?: TwinValue;
  actual?: TwinValue;
  /** KubeEdge wire type (metadata.type): int | float | boolean | string */
  type: string;
  /** a twin the mapper added (not in the Device spec); only optional twins may be deleted */
  optional: boolean;
  expectedVersion: TwinVersion;
  actualVersion: TwinVersion;
  /** the Device spec's desired.value last taken over (a later edge set is not undone by a resync) */
  specDesired?: string;
}
export type DeviceState = 'online' | 'offline' | 'unhealthy' | 'unknown' | 'ok';
export const DEVICE_STATES: readonly DeviceState[] = ['online', 'offline', 'ok', 'unknown', 'unhealthy'];

export interface TwinDoc {
  state: DeviceState;
  /**
   * the state as its mapper spelled it when that differs from `state` (`OK`, `Online`): KubeEdge
   * keeps the case a mapper sends and answers with it; the node's logic and the Device status
   * use `state`. Not persisted: after a restart the mapper's next report brings it back.
   */
  stateText?: string;
  /** RFC3339 */
  lastOnlineTime?: string;
  errorCount: number;
  consecutiveErrors: number;
  lastError?: string;
  lastErrorTime?: string;
  twins: Record<string, Twin>;
}

/** One entry of an update: absent fields are left alone. `null` for the whole entry deletes the twin. */
export interface TwinPatchEntry {
  expected?: string;
  actual?: string;
  type?: string;
  optional?: boolean;
  expectedVersion?: TwinVersion;
  actualVersion?: TwinVersion;
}
export type TwinPatch = Record<string, TwinPatchEntry | null>;

/** `{last, current}` for each twin an update touched (KubeEdge's twin/update/document). */
export type TwinDocument = Record<string, { last: Twin | null; current: Twin | null }>;

/** `doc` in `state`; `text` is how a mapper spelled it (kept when it differs by case only). */
export function withState(doc: TwinDoc, state: DeviceState, text?: string): TwinDoc {
  const next: TwinDoc = { ...doc, state };
  delete next.stateText;
  if (text !== undefined && text !== state && text.toLowerCase() === state) next.stateText = text;
  return next;
}

/** The state as a mapper reads it back: its own spelling, else the node's word. */
export const stateText = (doc: TwinDoc): string => doc.stateText ?? doc.state;

export function emptyDoc(): TwinDoc {
  return { state: 'unknown', errorCount: 0, consecutiveErrors: 0, twins: {} };
}

export function wireType(t: PropertyType): string {
  switch (t) {
    case 'INT':
      return 'int';
    case 'FLOAT':
    case 'DOUBLE':
      return 'float';
    case 'BOOLEAN':
      return 'boolean';
    default:
      return 'string';
  }
}

const newTwin = (type: string, optional: boolean): Twin => ({
  type,
  optional,
  expectedVersion: { cloud: 0, edge: 0 },
  actualVersion: { cloud: 0, edge: 0 },
});

/**
 * A copy of plain JSON-like data (what twin documents hold: objects, arrays, strings, numbers,
 * booleans). Documents are copied on every report; structuredClone cost several times more.
 */
function copyPlain<T>(v: T): T {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(copyPlain) as T;
  const out: Record<string, unknown> = {};
  const keys = Object.keys(v);
  for (let i = 0; i < keys.length; i++) out[keys[i]!] = copyPlain((v as Record<string, unknown>)[keys[i]!]);
  return out as T;
}

const clone = (d: TwinDoc): TwinDoc => copyPlain(d);

function checkVersion(path: string, incoming: TwinVersion | undefined, local: TwinVersion): void {
  if (!incoming) return;
  if (incoming.cloud < local.cloud || incoming.edge < local.edge) {
    throw new ConflictError(
      `${path}: version {cloud:${incoming.cloud},edge:${incoming.edge}} is older than {cloud:${local.cloud},edge:${local.edge}}`,
    );
  }
}

/**
 * Apply an update. `source` edge (mapper, app, edgectl) bumps the edge counter; cloud bumps cloud.
 * Versions given in the patch are checked first (stale → ConflictError, nothing changed).
 */
export function applyPatch(
  doc: TwinDoc,
  patch: TwinPatch,
  source: 'edge' | 'cloud',
  now: number,
): { doc: TwinDoc; document: TwinDocument } {
  const issues: FieldIssue[] = [];
  for (const [name, e] of Object.entries(patch)) {
    const cur = doc.twins[name];
    if (e === null) {
      if (cur && !cur.optional) issues.push({ path: `twin.${name}`, reason: 'only optional twins can be deleted' });
      continue;
    }
    if (cur) {
      checkVersion(`twin.${name}.expected_version`, e.expectedVersion, cur.expectedVersion);
      checkVersion(`twin.${name}.actual_version`, e.actualVersion, cur.actualVersion);
    }
  }
  if (issues.length) throw new ValidationError(issues, 'twin update');
  // copy on write: the new document shares the twins the patch does not touch (documents are
  // never changed in place; a report touches one or two twins of many, several times a second)
  const next: TwinDoc = { ...doc, twins: { ...doc.twins } };
  const document: TwinDocument = {};
  const bump = (v: TwinVersion): TwinVersion => (source === 'edge' ? { ...v, edge: v.edge + 1 } : { ...v, cloud: v.cloud + 1 });
  for (const [name, e] of Object.entries(patch)) {
    const before = doc.twins[name];
    if (e === null) {
      if (!before) continue;
      delete next.twins[name];
      document[name] = { last: before, current: null };
      continue;
    }
    const t = before ? copyPlain(before) : newTwin(e.type || 'string', e.optional ?? true);
    let touched = !before;
    if (e.expected !== undefined && t.expected?.value !== e.expected) {
      t.expected = { value: e.expected, timestamp: now };
      t.expectedVersion = e.expectedVersion ? { ...e.expectedVersion } : bump(t.expectedVersion);
      touched = true;
    }
    if (e.actual !== undefined) {
      // a repeated actual value refreshes its timestamp (a fresh reading), no new version
      if (t.actual?.value !== e.actual) {
        t.actualVersion = e.actualVersion ? { ...e.actualVersion } : bump(t.actualVersion);
        touched = true;
      }
      t.actual = { value: e.actual, timestamp: now };
    }
    if (e.type !== undefined && e.type !== '' && before && e.type !== t.type && before.optional) {
      t.type = e.type;
      touched = true;
    }
    next.twins[name] = t;
    // both twins are held, never changed, by a document: shared, not copied
    if (touched) document[name] = { last: before ?? null, current: t };
  }
  return { doc: next, document };
}

/** Twins whose expected differs from actual: name → expected value. */
export function computeDelta(doc: TwinDoc): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, t] of Object.entries(doc.twins)) {
    if (t.expected && t.expected.value !== t.actual?.value) out[name] = t.expected.value;
  }
  return out;
}

/**
 * Bring the twin document in line with the Device spec: a twin for every spec property (typed by
 * the model), expected values from `desired.value` (a cloud change), spec-less non-optional
 * twins dropped. Mapper-added optional twins stay.
 */
export function syncWithSpec(doc: TwinDoc, spec: DeviceSpec, model: DeviceModelSpec, now: number): { doc: TwinDoc; document: TwinDocument } {
  const byName = new Map<string, ModelProperty>(model.properties.map((p) => [p.name, p]));
  const next = clone(doc);
  const document: TwinDocument = {};
  const inSpec = new Set<string>();
  for (const p of spec.properties) {
    const mp = byName.get(p.name);
    if (!mp) continue;
    inSpec.add(p.name);
    const before = doc.twins[p.name];
    const t = next.twins[p.name] ?? newTwin(wireType(mp.type), false);
    let touched = !before || before.optional;
    t.optional = false;
    t.type = wireType(mp.type);
    const want = p.desired?.value;
    if (want !== undefined && want !== '' && t.specDesired !== want) {
      t.specDesired = want;
      if (t.expected?.value !== want) {
        t.expected = { value: want, timestamp: now };
        t.expectedVersion = { ...t.expectedVersion, cloud: t.expectedVersion.cloud + 1 };
        touched = true;
      }
    }
    next.twins[p.name] = t;
    if (touched) document[p.name] = { last: before ? copyPlain(before) : null, current: copyPlain(t) };
  }
  for (const [name, t] of Object.entries(doc.twins)) {
    if (!inSpec.has(name) && !t.optional) {
      delete next.twins[name];
      document[name] = { last: copyPlain(t), current: null };
    }
  }
  return { doc: next, document };
}

// ------------------------------------------------------------------ status (v1beta1-like)

export interface StatusTwin {
  propertyName: string;
  reported?: { value: string; metadata: { timestamp: string; type: string } };
  observedDesired?: { value: string; metadata: { timestamp: string; type: string } };
  reportedVersion: TwinVersion;
  desiredVersion: TwinVersion;
  optional?: boolean;
  specDesired?: string;
}
export interface DeviceStatus {
  state: DeviceState;
  lastOnlineTime?: string;
  errorCount: number;
  consecutiveErrors: number;
  lastError?: string;
  lastErrorTime?: string;
  /** why the Device was refused (it is not driven until fixed) */
  invalid?: FieldIssue[];
  twins: StatusTwin[];
}

/**
 * The status written to the store and sent upstream; `include` limits the twins (reportToCloud).
 * Every object is built with its keys in sorted order, so the store's stable serialisation is
 * one native JSON.stringify (src/lib/json.ts): a device reports several times a second.
 */
export function toStatus(doc: TwinDoc, include?: (name: string) => boolean): DeviceStatus {
  const twins: StatusTwin[] = [];
  const names = Object.keys(doc.twins);
  names.sort();
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (include && !include(name)) continue;
    const t = doc.twins[name]!;
    const st: StatusTwin = { desiredVersion: t.expectedVersion } as StatusTwin;
    if (t.expected) st.observedDesired = { metadata: { timestamp: String(t.expected.timestamp), type: t.type }, value: t.expected.value };
    if (t.optional) st.optional = true;
    st.propertyName = name;
    if (t.actual) st.reported = { metadata: { timestamp: String(t.actual.timestamp), type: t.type }, value: t.actual.value };
    st.reportedVersion = t.actualVersion;
    if (t.specDesired !== undefined) st.specDesired = t.specDesired;
    twins.push(st);
  }
  const status = { consecutiveErrors: doc.consecutiveErrors, errorCount: doc.errorCount } as DeviceStatus;
  if (doc.lastError) {
    status.lastError = doc.lastError;
    status.lastErrorTime = doc.lastErrorTime;
  }
  if (doc.lastOnlineTime) status.lastOnlineTime = doc.lastOnlineTime;
  status.state = doc.state;
  status.twins = twins;
  return status;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : Number(v) || 0);
const ver = (v: unknown): TwinVersion => {
  const o = (v ?? {}) as Record<string, unknown>;
  return { cloud: num(o.cloud), edge: num(o.edge) };
};

/** Restore a document from a stored status (tolerant: anything unreadable starts empty). */
export function fromStatus(status: unknown): TwinDoc {
  const doc = emptyDoc();
  if (!status || typeof status !== 'object') return doc;
  const s = status as Partial<DeviceStatus>;
  if (typeof s.state === 'string' && (DEVICE_STATES as string[]).includes(s.state)) doc.state = s.state;
  if (typeof s.lastOnlineTime === 'string') doc.lastOnlineTime = s.lastOnlineTime;
  doc.errorCount = num(s.errorCount);
  doc.consecutiveErrors = num(s.consecutiveErrors);
  if (typeof s.lastError === 'string') doc.lastError = s.lastError;
  if (typeof s.lastErrorTime === 'string') doc.lastErrorTime = s.lastErrorTime;
  for (const st of Array.isArray(s.twins) ? s.twins : []) {
    if (!st || typeof st.propertyName !== 'string') continue;
    const type = st.reported?.metadata?.type ?? st.observedDesired?.metadata?.type ?? 'string';
    const t = newTwin(type, st.optional === true);
    if (st.reported) t.actual = { value: String(st.reported.value), timestamp: num(st.reported.metadata?.timestamp) };
    if (st.observedDesired) t.expected = { value: String(st.observedDesired.value), timestamp: num(st.observedDesired.metadata?.timestamp) };
    t.actualVersion = ver(st.reportedVersion);
    t.expectedVersion = ver(st.desiredVersion);
    if (typeof st.specDesired === 'string') t.specDesired = st.specDesired;
    doc.twins[st.propertyName] = t;
  }
  return doc;
}
