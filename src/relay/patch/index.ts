/**
 * Patch and apply for the relay's Kubernetes API: pure functions on plain JSON objects.
 *
 *   jsonPatch(obj, ops)                      RFC 6902        application/json-patch+json
 *   mergePatch(obj, patch)                   RFC 7386        application/merge-patch+json
 *   strategicMergePatch(obj, patch, type)    Kubernetes      application/strategic-merge-patch+json
 *   serverSideApply(live, applied, opts)     Kubernetes      application/apply-patch+yaml
 *   trackUpdate(old, next, opts)             managedFields for every other write
 *   typeInfoFor(group, version, kind)        the schema the three Kubernetes ones follow
 *
 * Refusals are typed: PatchError (400/422) and ApplyConflictError (409).
 */
export { jsonPatch, mergePatch } from './json.js';
export { strategicMergePatch } from './strategic.js';
export { serverSideApply, trackUpdate, decodeManagedFields, encodeManagedFields, type ApplyOptions, type UpdateOptions, type Manager } from './apply.js';
export { PatchError, ApplyConflictError, isPatchError, isApplyConflictError, describeManager, type FieldConflict, type PatchErrorCode } from './errors.js';
export { FieldSet, pathString, type FieldPath, type PathElement } from './fieldset.js';
export { typeInfoFor } from '../openapi/catalog.js';
export type { TypeInfo, TypeNode } from '../openapi/typeinfo.js';
