/**
 * RFC 6902 JSON Patch and RFC 7386 JSON Merge Patch, done by well-kept libraries
 * (fast-json-patch, json-merge-patch; see docs/architecture.md). This file only guards their
 * input, keeps the stored object untouched, and words their errors as Kubernetes does.
 */
import jsonPatchLib, { type Operation } from 'fast-json-patch';
import mergePatchLib from 'json-merge-patch';
import type { KubeObject } from '../../contract/kube/types.js';
import { PatchError } from './errors.js';
import { assertPlainJson, clone, isObject } from './json-value.js';

/** Errors that mean the patch document itself is malformed (400); the rest do not apply (422). */
const MALFORMED = new Set([
  'SEQUENCE_NOT_AN_ARRAY',
  'OPERATION_NOT_AN_OBJECT',
  'OPERATION_OP_INVALID',
  'OPERATION_PATH_INVALID',
  'OPERATION_FROM_REQUIRED',
  'OPERATION_VALUE_REQUIRED',
  'OPERATION_VALUE_CANNOT_CONTAIN_UNDEFINED',
]);

const REASONS: Record<string, string> = {
  SEQUENCE_NOT_AN_ARRAY: 'a JSON patch must be a list of operations',
  OPERATION_NOT_AN_OBJECT: 'the operation is not an object',
  OPERATION_OP_INVALID: 'op must be one of add, remove, replace, move, copy, test',
  OPERATION_PATH_INVALID: 'path must be a JSON pointer string',
  OPERATION_FROM_REQUIRED: 'from is required',
  OPERATION_VALUE_REQUIRED: 'value is required',
  OPERATION_VALUE_CANNOT_CONTAIN_UNDEFINED: 'value is not JSON',
  OPERATION_PATH_CANNOT_ADD: 'the parent of path does not exist',
  OPERATION_PATH_UNRESOLVABLE: 'path does not exist',
  OPERATION_FROM_UNRESOLVABLE: 'from does not exist',
  OPERATION_PATH_ILLEGAL_ARRAY_INDEX: 'path has an invalid array index',
  OPERATION_VALUE_OUT_OF_BOUNDS: 'array index out of bounds',
  TEST_OPERATION_FAILED: 'test failed',
};

function describeOp(op: unknown): string {
  if (!isObject(op)) return '';
  const name = typeof op.op === 'string' ? op.op : '?';
  const path = typeof op.path === 'string' ? op.path : '?';
  return ` (${name} ${JSON.stringify(path)})`;
}

/** Apply an RFC 6902 patch to a copy of `obj`. */
export function jsonPatch(obj: KubeObject, ops: unknown): KubeObject {
  if (!Array.isArray(ops)) throw new PatchError('json patch: the body must be a JSON list of operations');
  assertPlainJson(ops, 'json patch');
  ops.forEach((op, i) => {
    for (const k of ['path', 'from']) {
      const p = isObject(op) ? op[k] : undefined;
      if (typeof p === 'string' && /(^|\/)(__proto__|constructor\/prototype)(\/|$)/.test(p)) {
        throw new PatchError(`json patch operation ${i}${describeOp(op)}: ${k} names a field that is not allowed`);
      }
    }
  });
  let result: unknown;
  try {
    result = jsonPatchLib.applyPatch(clone(obj), ops as Operation[], true, true, true).newDocument;
  } catch (e) {
    const name = e instanceof Error ? e.name : '';
    const index = (e as { index?: number }).index;
    const where = index === undefined ? '' : ` operation ${index}${describeOp(ops[index])}`;
    const reason = REASONS[name] ?? (e instanceof Error ? e.message.split('\n')[0] : String(e));
    throw new PatchError(`json patch${where}: ${reason}`, MALFORMED.has(name) ? 400 : 422);
  }
  if (!isObject(result)) throw new PatchError('json patch: the result is not an object', 422);
  return result as unknown as KubeObject;
}

/** Apply an RFC 7386 merge patch to a copy of `obj` (`null` deletes a key; lists are replaced). */
export function mergePatch(obj: KubeObject, patch: unknown): KubeObject {
  if (!isObject(patch)) throw new PatchError('merge patch: the body must be a JSON object');
  assertPlainJson(patch, 'merge patch');
  const result: unknown = mergePatchLib.apply(clone(obj), clone(patch));
  if (!isObject(result)) throw new PatchError('merge patch: the result is not an object', 422);
  return result as unknown as KubeObject;
}
