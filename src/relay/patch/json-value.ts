/**
 * Plain-JSON helpers shared by the patch algorithms: type tests, deep copy, deep equality, and
 * the one guard every patch passes first (no `__proto__` keys: assigning one would reach the
 * object prototype, and no Kubernetes field is named so).
 */
import { PatchError } from './errors.js';

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.hasOwn(b as object, k) && deepEqual((a as JsonObject)[k], (b as JsonObject)[k]));
}

/** Refuse a value that is not plain JSON or that carries a `__proto__` key (400). */
export function assertPlainJson(v: unknown, what: string, path = ''): void {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new PatchError(`${what}: ${path || '(root)'} is not a finite number`);
    return;
  }
  if (Array.isArray(v)) {
    v.forEach((x, i) => assertPlainJson(x, what, `${path}[${i}]`));
    return;
  }
  if (typeof v === 'object') {
    for (const k of Object.keys(v)) {
      if (k === '__proto__') throw new PatchError(`${what}: field name "__proto__" at ${path || '(root)'} is not allowed`);
      assertPlainJson((v as JsonObject)[k], what, path ? `${path}.${k}` : k);
    }
    return;
  }
  throw new PatchError(`${what}: ${path || '(root)'} is not JSON (${typeof v})`);
}
