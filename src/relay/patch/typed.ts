/**
 * Schema-aware walks server-side apply is built from: the field set a value sets, the fields two
 * values differ in, the merge of an applied configuration into a live object, and removal of one
 * path. The schema says how each place behaves: a struct or map is granular (each key its own
 * field) unless `x-kubernetes-map-type: atomic`; a list is atomic (one field), a set (items keyed
 * by value) or a map (items keyed by `x-kubernetes-list-map-keys`). Where the schema is silent
 * (custom kinds, free-form fields) maps are granular and lists atomic.
 */
import { TypeNode } from '../openapi/typeinfo.js';
import { PatchError } from './errors.js';
import { FieldSet, fieldPE, keyPE, pathString, valuePE, type FieldPath, type PathElement } from './fieldset.js';
import { deepEqual, isObject, type Json, type JsonObject } from './json-value.js';

type Shape = 'object' | 'list' | 'leaf';

/** How a value is walked at a place: granular object, granular list, or one leaf. */
function shapeOf(v: Json | undefined, node: TypeNode): Shape {
  if (v === undefined || v === null) return 'leaf';
  if (isObject(v)) return node.kind === 'struct' || node.kind === 'map' || node.kind === 'untyped' ? (node.atomic ? 'leaf' : 'object') : 'leaf';
  if (Array.isArray(v)) return node.kind === 'list' && node.listType !== 'atomic' ? 'list' : 'leaf';
  return 'leaf';
}

/** The path element of a list item (map-list: its keys; set: its value). */
export function itemPE(item: Json, list: TypeNode, at: FieldPath): PathElement {
  if (list.listType === 'set') return valuePE(item);
  const keys: Record<string, Json> = {};
  if (isObject(item)) for (const k of list.listMapKeys) if (item[k] !== undefined && item[k] !== null) keys[k] = item[k]!;
  if (Object.keys(keys).length === 0) {
    throw new PatchError(`${pathString(at) || '.'}: a list item has none of its key fields ${list.listMapKeys.join(', ')}`, 422);
  }
  return keyPE(keys);
}

function indexItems(list: Json[], node: TypeNode, at: FieldPath, allowDuplicates: boolean): Map<PathElement, Json> {
  const out = new Map<PathElement, Json>();
  for (const item of list) {
    const pe = itemPE(item, node, at);
    if (out.has(pe)) {
      if (!allowDuplicates) throw new PatchError(`${pathString([...at, pe])}: duplicate entries for key`, 422);
      continue;
    }
    out.set(pe, item);
  }
  return out;
}

/** Every field `value` sets (Kubernetes' ToFieldSet); an applied intent may not repeat a list key. */
export function toFieldSet(value: Json, node: TypeNode, allowDuplicates = true, set = new FieldSet(), at: PathElement[] = []): FieldSet {
  const shape = shapeOf(value, node);
  if (shape === 'leaf') {
    if (at.length) set.insert(at);
  } else if (shape === 'object') {
    for (const [k, v] of Object.entries(value as JsonObject)) {
      const child = node.field(k) ?? TypeNode.untyped();
      const p = [...at, fieldPE(k)];
      toFieldSet(v, child, allowDuplicates, set, p);
      const declared = node.kind === 'struct' && node.fieldNames().includes(k);
      if (v === null || (isObject(v) && Object.keys(v).length === 0) || !declared) set.insert(p);
    }
  } else {
    const elem = node.elem();
    for (const [pe, item] of indexItems(value as Json[], node, at, allowDuplicates)) {
      const p = [...at, pe];
      toFieldSet(item, elem, allowDuplicates, set, p);
      set.insert(p);
    }
  }
  return set;
}

export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

/** The fields `rhs` adds, changes and removes relative to `lhs` (Kubernetes' Compare). */
export function compare(lhs: Json | undefined, rhs: Json | undefined, node: TypeNode): Comparison {
  const c: Comparison = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
  walkCompare(lhs, rhs, node, [], c);
  return c;
}

const emptyish = (v: Json | undefined): boolean =>
  v === undefined || v === null || (isObject(v) && Object.keys(v).length === 0) || (Array.isArray(v) && v.length === 0);

function walkCompare(lhs: Json | undefined, rhs: Json | undefined, node: TypeNode, at: PathElement[], c: Comparison): void {
  const ls = lhs === undefined ? undefined : shapeOf(lhs, node);
  const rs = rhs === undefined ? undefined : shapeOf(rhs, node);
  const shape = ls ?? rs!;
  const leaf = shape === 'leaf' || (ls !== undefined && rs !== undefined && ls !== rs) || (emptyish(lhs) && emptyish(rhs));
  if (leaf) {
    if (!at.length) return;
    if (lhs === undefined) c.added.insert(at);
    else if (rhs === undefined) c.removed.insert(at);
    else if (!deepEqual(lhs, rhs)) c.modified.insert(at);
    return;
  }
  if (shape === 'object') {
    const l = (lhs ?? {}) as JsonObject;
    const r = (rhs ?? {}) as JsonObject;
    for (const k of new Set([...Object.keys(l), ...Object.keys(r)])) {
      walkCompare(l[k], r[k], node.field(k) ?? TypeNode.untyped(), [...at, fieldPE(k)], c);
    }
  } else {
    const l = indexItems((lhs ?? []) as Json[], node, at, true);
    const r = indexItems((rhs ?? []) as Json[], node, at, true);
    const elem = node.elem();
    for (const pe of new Set([...l.keys(), ...r.keys()])) walkCompare(l.get(pe), r.get(pe), elem, [...at, pe], c);
  }
  if (at.length && lhs === undefined) c.added.insert(at);
  else if (at.length && rhs === undefined) c.removed.insert(at);
}

/** Merge an applied configuration into a live value (Kubernetes' typed Merge; `rhs` wins). */
export function merge(lhs: Json | undefined, rhs: Json | undefined, node: TypeNode, at: PathElement[] = []): Json | undefined {
  if (rhs === undefined) return lhs;
  if (lhs === undefined) return rhs;
  const ls = shapeOf(lhs, node);
  const rs = shapeOf(rhs, node);
  if (ls !== rs || rs === 'leaf') return rhs;
  if (rs === 'object') {
    const out: JsonObject = { ...(lhs as JsonObject) };
    for (const [k, v] of Object.entries(rhs as JsonObject)) {
      const m = merge(out[k], v, node.field(k) ?? TypeNode.untyped(), [...at, fieldPE(k)]);
      Object.defineProperty(out, k, { value: m, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return mergeLists(lhs as Json[], rhs as Json[], node, at);
}

/**
 * Items of both lists: the applied list's order for its own items; live-only items keep their
 * place relative to the items around them.
 */
function mergeLists(lhs: Json[], rhs: Json[], node: TypeNode, at: PathElement[]): Json[] {
  const elem = node.elem();
  const rItems = indexItems(rhs, node, at, false);
  const lPEs = lhs.map((item) => itemPE(item, node, at));
  const rPEs = [...rItems.keys()];
  const lItems = new Map<PathElement, Json>();
  lPEs.forEach((pe, i) => lItems.has(pe) || lItems.set(pe, lhs[i]!));
  const shared = rPEs.filter((pe) => lItems.has(pe));
  const out: Json[] = [];
  const done = new Set<PathElement>();
  let li = 0;
  let ri = 0;
  while (li < lPEs.length || ri < rPEs.length) {
    if (li < lPEs.length) {
      const pe = lPEs[li]!;
      if (done.has(pe)) {
        li++;
        continue;
      }
      if (!rItems.has(pe)) {
        out.push(lhs[li]!);
        done.add(pe);
        li++;
        continue;
      }
      if (ri < rPEs.length && pe !== rPEs[ri] && shared[0] !== pe) {
        li++; // emitted later, where the applied list puts it
        continue;
      }
    }
    if (ri < rPEs.length) {
      const pe = rPEs[ri++]!;
      out.push(merge(lItems.get(pe), rItems.get(pe), elem, [...at, pe])!);
      done.add(pe);
      if (shared[0] === pe) shared.shift();
    } else li++;
  }
  return out;
}

/** Remove one path (a field, map key or list item) from a value; missing paths are ignored. */
export function removePath(value: Json, path: FieldPath, node: TypeNode): void {
  if (path.length === 0) return;
  const [pe, ...rest] = path as [PathElement, ...PathElement[]];
  if (pe.startsWith('f:') && isObject(value)) {
    const k = pe.slice(2);
    if (!Object.hasOwn(value, k)) return;
    if (rest.length === 0) delete value[k];
    else removePath(value[k]!, rest, node.field(k) ?? TypeNode.untyped());
    return;
  }
  if (Array.isArray(value) && node.kind === 'list') {
    const i = value.findIndex((item) => itemPE(item, node, []) === pe);
    if (i < 0) return;
    if (rest.length === 0) value.splice(i, 1);
    else removePath(value[i]!, rest, node.elem());
  }
}

/** Fields whose ownership server-side apply never records (Kubernetes strips these). */
export const STRIPPED_META: FieldPath[] = [
  ['f:apiVersion'],
  ['f:kind'],
  ['f:metadata'],
  ['f:metadata', 'f:name'],
  ['f:metadata', 'f:namespace'],
  ['f:metadata', 'f:creationTimestamp'],
  ['f:metadata', 'f:selfLink'],
  ['f:metadata', 'f:uid'],
  ['f:metadata', 'f:clusterName'],
  ['f:metadata', 'f:generation'],
  ['f:metadata', 'f:managedFields'],
  ['f:metadata', 'f:resourceVersion'],
];

export function stripMeta(set: FieldSet): FieldSet {
  return set.difference(FieldSet.of(STRIPPED_META));
}
