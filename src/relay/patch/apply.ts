/**
 * Server-side apply and field ownership (metadata.managedFields), hand-written after Kubernetes'
 * documented semantics (docs/architecture.md says why no library):
 *
 * - `serverSideApply` merges the applier's intent into the live object, records the fields the
 *   intent sets as the applier's (operation Apply), refuses with ApplyConflictError when that
 *   changes a field another manager owns (unless `force`, which moves ownership), and removes
 *   fields the applier set last time, left out now, and nobody else owns;
 * - `trackUpdate` records a non-apply write (create, update, patch: kubectl-client-side-apply,
 *   kubectl-edit, kubectl-label...) as Kubernetes does: the writer takes every field it changed
 *   (operation Update), other managers lose those fields, and removed fields leave every set.
 */
import type { KubeObject, ManagedFieldsEntry } from '../../contract/kube/types.js';
import { TypeNode, type TypeInfo } from '../openapi/typeinfo.js';
import { ApplyConflictError, PatchError, type FieldConflict } from './errors.js';
import { FieldSet, pathString } from './fieldset.js';
import { assertPlainJson, clone, deepEqual, isObject, type Json, type JsonObject } from './json-value.js';
import { compare, merge, removePath, stripMeta, toFieldSet } from './typed.js';

interface Common {
  /** the field manager (fieldManager query parameter, or kubectl's default for the command) */
  manager: string;
  /** the group/version the request was made in (e.g. `v1`, `apps/v1`) */
  apiVersion: string;
  typeInfo: TypeInfo | undefined;
  now: Date;
  subresource?: string;
  /** top-level fields this write does not touch and nobody owns through it (e.g. `status` on the main resource) */
  ignoredFields?: string[];
}
export interface ApplyOptions extends Common {
  force: boolean;
}
export interface UpdateOptions extends Common {
  operation: 'Update';
}

export interface Manager {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  subresource?: string;
  time?: string;
  set: FieldSet;
}

const identity = (m: Pick<Manager, 'manager' | 'operation' | 'apiVersion' | 'subresource'>): string =>
  JSON.stringify([m.manager, m.operation, m.subresource ?? '', m.operation === 'Update' ? m.apiVersion : '']);

/** RFC 3339 at seconds, as metav1.Time is written. */
const rfc3339 = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export function decodeManagedFields(entries: unknown): Manager[] {
  if (entries === undefined || entries === null) return [];
  if (!Array.isArray(entries)) throw new PatchError('metadata.managedFields: must be a list', 422);
  return entries.map((e, i) => {
    const at = `metadata.managedFields[${i}]`;
    if (!isObject(e) || typeof e.manager !== 'string' || (e.operation !== 'Apply' && e.operation !== 'Update') || typeof e.apiVersion !== 'string') {
      throw new PatchError(`${at}: needs manager, operation (Apply or Update) and apiVersion`, 422);
    }
    if (e.fieldsType !== undefined && e.fieldsType !== 'FieldsV1') throw new PatchError(`${at}.fieldsType: must be FieldsV1`, 422);
    return {
      manager: e.manager,
      operation: e.operation,
      apiVersion: e.apiVersion,
      ...(typeof e.subresource === 'string' && e.subresource ? { subresource: e.subresource } : {}),
      ...(typeof e.time === 'string' ? { time: e.time } : {}),
      set: FieldSet.fromFieldsV1(e.fieldsV1 ?? {}, `${at}.fieldsV1`),
    };
  });
}

/** Kubernetes' order: Apply before Update, then oldest first, then by name. */
export function encodeManagedFields(managers: Manager[]): ManagedFieldsEntry[] {
  const sorted = managers
    .filter((m) => !m.set.isEmpty())
    .sort(
      (a, b) =>
        a.operation.localeCompare(b.operation) ||
        (a.time ?? '').localeCompare(b.time ?? '') ||
        a.manager.localeCompare(b.manager) ||
        a.apiVersion.localeCompare(b.apiVersion) ||
        (a.subresource ?? '').localeCompare(b.subresource ?? ''),
    );
  return sorted.map((m) => ({
    manager: m.manager,
    operation: m.operation,
    apiVersion: m.apiVersion,
    ...(m.time ? { time: m.time } : {}),
    fieldsType: 'FieldsV1' as const,
    fieldsV1: m.set.toFieldsV1(),
    ...(m.subresource ? { subresource: m.subresource } : {}),
  }));
}

function body(obj: KubeObject | JsonObject, ignored: string[]): JsonObject {
  const b = clone(obj) as unknown as JsonObject;
  if (isObject(b.metadata)) delete b.metadata.managedFields;
  for (const f of ignored) delete b[f];
  return b;
}

function dropNulls(v: Json): Json | undefined {
  if (v === null) return undefined;
  if (Array.isArray(v)) return v.map(dropNulls).filter((x): x is Json => x !== undefined);
  if (isObject(v)) {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) {
      const d = dropNulls(x);
      if (d !== undefined) Object.defineProperty(out, k, { value: d, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return v;
}

const ownedSet = (s: FieldSet, ignored: string[]): FieldSet => stripMeta(s).without(ignored.map((f) => [`f:${f}`]));

/** Apply `applied` (the body of an application/apply-patch+yaml request) to `live` (undefined: create). */
export function serverSideApply(live: KubeObject | undefined, applied: unknown, opts: ApplyOptions): KubeObject {
  if (!isObject(applied)) throw new PatchError('apply: the body must be an object');
  assertPlainJson(applied, 'apply');
  if (applied.apiVersion !== opts.apiVersion) {
    throw new PatchError(`Incorrect version specified in apply patch. Specified patch version: ${String(applied.apiVersion ?? '')}, expected: ${opts.apiVersion}`);
  }
  if (isObject(applied.metadata) && applied.metadata.managedFields !== undefined) throw new PatchError('metadata.managedFields must be nil');
  const ignored = opts.ignoredFields ?? [];
  const root = opts.typeInfo?.root ?? TypeNode.untyped();
  const config = dropNulls(body(applied as JsonObject, ignored)) as JsonObject;
  const liveBody = live ? body(live, ignored) : {};
  const managers = decodeManagedFields(live?.metadata.managedFields);
  const me = { manager: opts.manager, operation: 'Apply' as const, apiVersion: opts.apiVersion, subresource: opts.subresource };
  const mine = managers.find((m) => identity(m) === identity(me));
  const others = managers.filter((m) => m !== mine);

  const merged = merge(liveBody, config, root) as JsonObject;
  const newSet = ownedSet(toFieldSet(config, root, false), ignored);

  // fields this manager applied before and now leaves out go, unless someone still owns them
  if (mine) {
    const owned = others.reduce((acc, m) => acc.union(m.set), newSet);
    for (const p of mine.set.paths()) {
      if (!owned.has(p) && !owned.hasBelow(p) && !isItemKey(p)) removePath(merged, p, root);
    }
  }

  const c = compare(liveBody, merged, root);
  const changed = c.modified.union(c.added);
  const conflicts: FieldConflict[] = [];
  for (const m of others) {
    const hit = m.set.intersection(changed);
    for (const p of hit.paths()) {
      conflicts.push({ manager: m.manager, operation: m.operation, apiVersion: m.apiVersion, ...(m.time ? { time: m.time } : {}), ...(m.subresource ? { subresource: m.subresource } : {}), path: pathString(p) });
    }
    if (!opts.force && conflicts.length) continue;
    m.set = m.set.difference(hit).difference(c.removed);
  }
  if (conflicts.length && !opts.force) throw new ApplyConflictError(conflicts);

  const unchanged = live !== undefined && deepEqual(liveBody, merged);
  const time = unchanged && mine?.time ? mine.time : rfc3339(opts.now);
  const entry: Manager = { ...me, set: newSet, time };
  const result = restoreIgnored(merged, live, ignored) as unknown as KubeObject;
  result.metadata = { ...(isObject(result.metadata) ? (result.metadata as object) : {}) };
  result.metadata.managedFields = encodeManagedFields([...others, entry]);
  return result;
}

/** A key field of a map-list item (`k:{"name":"c"}` then `f:name`): it goes only with its item. */
function isItemKey(p: string[]): boolean {
  const parent = p[p.length - 2];
  const last = p[p.length - 1]!;
  if (!parent?.startsWith('k:') || !last.startsWith('f:')) return false;
  return  Object.hasOwn(JSON.parse(parent.slice(2)) as object, last.slice(2));
}

function restoreIgnored(merged: JsonObject, live: KubeObject | undefined, ignored: string[]): JsonObject {
  for (const f of ignored) if (live && live[f] !== undefined) merged[f] = clone(live[f]) as Json;
  return merged;
}

/** The managedFields `next` should carry after a non-apply write of it over `old` (undefined: create). */
export function trackUpdate(old: KubeObject | undefined, next: KubeObject, opts: UpdateOptions): ManagedFieldsEntry[] {
  const ignored = opts.ignoredFields ?? [];
  const root = opts.typeInfo?.root ?? TypeNode.untyped();
  const nextBody = body(next, ignored);
  const oldBody = old ? body(old, ignored) : skeleton(nextBody);
  // a client that sends managedFields back (kubectl edit does) keeps them; an empty list means "unchanged"
  const sent = next.metadata?.managedFields;
  const managers = decodeManagedFields(Array.isArray(sent) && sent.length > 0 ? sent : old?.metadata.managedFields);
  const me = { manager: opts.manager, operation: 'Update' as const, apiVersion: opts.apiVersion, subresource: opts.subresource };
  const c = compare(oldBody, nextBody, root);
  const changed = c.modified.union(c.added);
  let mine = managers.find((m) => identity(m) === identity(me));
  for (const m of managers) {
    if (m === mine) continue;
    m.set = m.set.difference(changed).difference(c.removed);
  }
  const gained = ownedSet(changed, ignored);
  if (!gained.isEmpty()) {
    if (!mine) {
      mine = { ...me, set: new FieldSet() };
      managers.push(mine);
    }
    mine.set = mine.set.difference(c.removed).union(gained);
    mine.time = rfc3339(opts.now);
  } else if (mine) mine.set = mine.set.difference(c.removed);
  return encodeManagedFields(managers);
}

/** What a new object is compared with: its kind and an empty metadata, spec and status. */
function skeleton(next: JsonObject): JsonObject {
  const out: JsonObject = { metadata: {} };
  if (next.apiVersion !== undefined) out.apiVersion = next.apiVersion;
  if (next.kind !== undefined) out.kind = next.kind;
  for (const f of ['spec', 'status']) if (isObject(next[f])) out[f] = {};
  return out;
}

