/**
 * Kubernetes strategic merge patch (application/strategic-merge-patch+json), applied on the
 * server side as the apiserver does for built-in kinds. Hand-written: no maintained JavaScript
 * implementation exists (docs/architecture.md). Semantics, from the Kubernetes design documents
 * and the observed behaviour of kubectl's patches:
 *
 * - maps merge key by key; `null` deletes a key;
 * - a list whose field declares `x-kubernetes-patch-strategy: merge` merges: lists of objects by
 *   their `x-kubernetes-patch-merge-key` (containers by name, ports by containerPort...), lists of
 *   scalars as a union; every other list is replaced whole;
 * - directives: `$patch: replace|delete` in a map, `{"$patch":"replace"}` / `{"$patch":"delete",
 *   <key>}` items in a merging list, `$setElementOrder/<list>` (final order of the listed items;
 *   items only on the server keep their place relative to them), `$deleteFromPrimitiveList/<list>`,
 *   `$retainKeys` (keys of the map to keep; the rest are cleared — volumes, Deployment strategy);
 * - merged list order: the patch's order (or $setElementOrder's) first, server-only items woven
 *   in where they stood relative to the patched items, as Kubernetes orders them.
 */
import type { KubeObject } from '../../contract/kube/types.js';
import { TypeNode, type TypeInfo } from '../openapi/typeinfo.js';
import { PatchError } from './errors.js';
import { assertPlainJson, clone, deepEqual, isObject, type Json, type JsonObject } from './json-value.js';

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ORDER = '$setElementOrder/';
const DELETE_PRIMITIVE = '$deleteFromPrimitiveList/';

/** Apply a strategic merge patch to a copy of `obj`. Without typeInfo every list is replaced. */
export function strategicMergePatch(obj: KubeObject, patch: unknown, typeInfo: TypeInfo | undefined): KubeObject {
  if (!isObject(patch)) throw new PatchError('strategic merge patch: the body must be a JSON object');
  assertPlainJson(patch, 'strategic merge patch');
  const root = typeInfo?.root ?? TypeNode.untyped();
  const out = mergeMap(clone(obj) as unknown as JsonObject, clone(patch), root, '');
  return out as unknown as KubeObject;
}

const bad = (path: string, msg: string, code: 400 | 422 = 400): PatchError =>
  new PatchError(`strategic merge patch${path ? ` at ${path}` : ''}: ${msg}`, code, path || undefined);

const join = (path: string, key: string): string => (path ? `${path}.${key}` : key);

function mergeMap(original: JsonObject, patch: JsonObject, node: TypeNode, path: string): JsonObject {
  if (DIRECTIVE in patch) {
    const d = patch[DIRECTIVE];
    if (d === 'replace') {
      delete patch[DIRECTIVE];
      return fresh(patch, node, path) as JsonObject;
    }
    if (d === 'delete') return {};
    throw bad(path, `unknown $patch directive ${JSON.stringify(d)} in a map (replace or delete)`);
  }
  applyRetainKeys(original, patch, path);
  applySetElementOrder(original, patch, node, path);

  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith(DELETE_PRIMITIVE)) {
      const field = key.slice(DELETE_PRIMITIVE.length);
      if (!Array.isArray(value)) throw bad(join(path, field), `${key} must be a list`);
      const current = original[field];
      if (Array.isArray(current)) setKey(original, field, current.filter((v) => !value.some((d) => deepEqual(d, v))));
      continue;
    }
    if (key.startsWith('$')) throw bad(path, `unknown directive ${JSON.stringify(key)}`);
    const child = node.field(key) ?? TypeNode.untyped();
    const here = join(path, key);
    if (value === null) {
      delete original[key];
      continue;
    }
    const current = Object.hasOwn(original, key) ? original[key] : undefined;
    if (isObject(current) && isObject(value)) {
      setKey(original, key, child.patchStrategies.includes('replace') ? (fresh(value, child, here) ?? {}) : mergeMap(current, value, child, here));
    } else if (Array.isArray(current) && Array.isArray(value)) {
      setKey(original, key, child.patchStrategies.includes('merge') ? mergeList(current, value, child, here) : (fresh(value, child, here) as Json[]));
    } else {
      const v = fresh(value, child, here);
      if (v === undefined) delete original[key];
      else setKey(original, key, v);
    }
  }
  return original;
}

/** Assign without ever touching a prototype (keys are checked, but stay safe regardless). */
function setKey(o: JsonObject, key: string, v: Json): void {
  Object.defineProperty(o, key, { value: v, enumerable: true, writable: true, configurable: true });
}

/**
 * A patch value that meets nothing on the server: directives and nulls are dropped, nested
 * directives still apply (a new container's `$setElementOrder/env` orders its env).
 */
function fresh(value: Json, node: TypeNode, path: string): Json | undefined {
  if (value === null) return undefined;
  if (isObject(value)) {
    if (DIRECTIVE in value) return value[DIRECTIVE] === 'replace' ? fresh(withoutDirective(value), node, path) : undefined;
    return mergeMap({}, value, node, path);
  }
  if (Array.isArray(value)) {
    if (node.patchStrategies.includes('merge') && value.some(isObject)) return mergeList([], value, node, path);
    const out: Json[] = [];
    value.forEach((v, i) => {
      const f = fresh(v, node.elem(), `${path}[${i}]`);
      if (f !== undefined) out.push(f);
    });
    return out;
  }
  return value;
}

function withoutDirective(o: JsonObject): JsonObject {
  const { [DIRECTIVE]: _d, ...rest } = o;
  return rest;
}

function applyRetainKeys(original: JsonObject, patch: JsonObject, path: string): void {
  if (!(RETAIN_KEYS in patch)) return;
  const keep = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(keep) || !keep.every((k) => typeof k === 'string')) throw bad(path, '$retainKeys must be a list of field names');
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith('$')) continue;
    if (!keep.includes(k)) throw bad(path, `field ${JSON.stringify(k)} is in the patch but not in $retainKeys`, 422);
  }
  for (const k of Object.keys(original)) if (!keep.includes(k)) delete original[k];
}

// ---------------------------------------------------------------- lists

type ListKind = 'maps' | 'scalars';

function listKind(lists: Json[][], path: string): ListKind | undefined {
  let kind: ListKind | undefined;
  for (const list of lists) {
    for (const v of list) {
      if (Array.isArray(v)) throw bad(path, 'lists of lists cannot be merged');
      const k: ListKind = isObject(v) ? 'maps' : 'scalars';
      if (kind && kind !== k) throw bad(path, 'a merging list mixes objects and scalars');
      kind = k;
    }
  }
  return kind;
}

/** The identity of a list item: its merge key's value for objects, itself for scalars. */
function identity(item: Json, mergeKey: string | undefined): Json | undefined {
  if (mergeKey === undefined) return item;
  return isObject(item) && Object.hasOwn(item, mergeKey) ? item[mergeKey] : undefined;
}

function indexIn(list: Json[], item: Json, mergeKey: string | undefined): number {
  const id = identity(item, mergeKey);
  if (id === undefined) return -1;
  return list.findIndex((x) => deepEqual(identity(x, mergeKey), id));
}

function requireKey(item: Json, mergeKey: string, path: string): void {
  if (!isObject(item) || !Object.hasOwn(item, mergeKey)) {
    throw bad(path, `list item ${JSON.stringify(item)} does not contain the merge key ${JSON.stringify(mergeKey)}`);
  }
}

function mergeList(original: Json[], patch: Json[], node: TypeNode, path: string): Json[] {
  if (original.length === 0 && patch.length === 0) return original;
  const kind = listKind([original, patch], path);
  if (kind === 'scalars') {
    const merged: Json[] = [];
    for (const v of [...original, ...patch]) if (!merged.some((m) => deepEqual(m, v))) merged.push(v);
    return order(merged, patch, original, undefined);
  }
  const mergeKey = node.patchMergeKey;
  if (!mergeKey) throw bad(path, 'cannot merge a list of objects without a patch merge key');
  let base = original;
  const items: JsonObject[] = [];
  let replace = false;
  for (const v of patch as JsonObject[]) {
    if (!(DIRECTIVE in v)) {
      items.push(v);
      continue;
    }
    const d = v[DIRECTIVE];
    if (d === 'delete') {
      requireKey(v, mergeKey, path);
      base = base.filter((x) => !deepEqual(identity(x, mergeKey), v[mergeKey]));
    } else if (d === 'replace') replace = true;
    else if (d === 'merge') throw bad(path, 'a $patch: merge item is not supported in a list');
    else throw bad(path, `unknown $patch directive ${JSON.stringify(d)} in a list`);
  }
  const elem = node.elem();
  if (replace) return items.map((v, i) => fresh(v, elem, `${path}[${i}]`)).filter((v): v is Json => v !== undefined);
  const merged = [...base];
  for (const item of items) {
    requireKey(item, mergeKey, path);
    const at = indexIn(merged, item, mergeKey);
    const here = `${path}[${mergeKey}=${JSON.stringify(item[mergeKey])}]`;
    if (at >= 0) merged[at] = mergeMap(merged[at] as JsonObject, item, elem, here);
    else merged.push(mergeMap({}, item, elem, here));
  }
  return order(merged, items, base, mergeKey);
}

/**
 * Kubernetes' list order after a merge: items named in `wanted` in that order, items only on the
 * server in their server order, interleaved by their positions on the server (best effort).
 */
function order(merged: Json[], wanted: Json[], server: Json[], mergeKey: string | undefined): Json[] {
  const patched: Json[] = [];
  const serverOnly: Json[] = [];
  for (const m of merged) (indexIn(wanted, m, mergeKey) >= 0 ? patched : serverOnly).push(m);
  patched.sort((a, b) => indexIn(wanted, a, mergeKey) - indexIn(wanted, b, mergeKey));
  serverOnly.sort((a, b) => indexIn(server, a, mergeKey) - indexIn(server, b, mergeKey));
  const out: Json[] = [];
  let i = 0;
  let j = 0;
  while (i < serverOnly.length || j < patched.length) {
    if (j >= patched.length) out.push(serverOnly[i++]!);
    else if (i >= serverOnly.length) out.push(patched[j++]!);
    else {
      const si = indexIn(server, serverOnly[i]!, mergeKey);
      const pi = indexIn(server, patched[j]!, mergeKey);
      if (si >= 0 && pi >= 0 && si < pi) out.push(serverOnly[i++]!);
      else out.push(patched[j++]!);
    }
  }
  return out;
}

function applySetElementOrder(original: JsonObject, patch: JsonObject, node: TypeNode, path: string): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ORDER)) continue;
    const field = key.slice(SET_ORDER.length);
    const wanted = patch[key];
    delete patch[key];
    const here = join(path, field);
    if (!Array.isArray(wanted)) throw bad(here, `${key} must be a list`);
    const child = node.field(field) ?? TypeNode.untyped();
    const mergeKey = child.patchMergeKey;
    const current = original[field];
    const change = patch[field];
    if (current !== undefined && !Array.isArray(current)) throw bad(here, 'the live value is not a list');
    if (change !== undefined && change !== null && !Array.isArray(change)) throw bad(here, 'the patch value is not a list');
    if (Array.isArray(change)) checkOrder(change, wanted, mergeKey, here);
    let merged: Json[];
    if (current && Array.isArray(change)) {
      merged = child.patchStrategies.includes('merge') ? mergeList(current, change, child, here) : ((fresh(change, child, here) as Json[]) ?? []);
    } else if (Array.isArray(change)) merged = (fresh(change, child, here) as Json[]) ?? [];
    else if (current) merged = current;
    else continue;
    if (mergeKey) for (const w of wanted) requireKey(w, mergeKey, here);
    setKey(original, field, order(merged, wanted, current ?? [], mergeKey));
    delete patch[field];
  }
}

/** The patch list must name its (non-deleted) items in the same relative order as $setElementOrder. */
function checkOrder(change: Json[], wanted: Json[], mergeKey: string | undefined, path: string): void {
  const items = change.filter((v) => !(isObject(v) && DIRECTIVE in v));
  let w = 0;
  for (const item of items) {
    if (mergeKey) requireKey(item, mergeKey, path);
    while (w < wanted.length && !deepEqual(identity(wanted[w]!, mergeKey), identity(item, mergeKey))) w++;
    if (w >= wanted.length) throw bad(path, "the order of the patch list does not match its $setElementOrder list");
    w++;
  }
}
