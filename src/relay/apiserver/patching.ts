/**
 * The patch and apply algorithms the API core calls, as one dependency (implemented by
 * src/relay/patch: JSON patch and merge patch through libraries, strategic merge, server-side
 * apply and managedFields by hand). The core only picks the algorithm from the Content-Type and
 * turns their errors into Status objects.
 */
import type { KubeObject, ManagedFieldsEntry } from '../../contract/kube/types.js';

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

interface CommonOptions {
  manager: string;
  apiVersion: string;
  typeInfo: unknown;
  now: Date;
  subresource?: string;
  /** top-level fields this write does not touch (status on the main resource; all but status on /status) */
  ignoredFields?: string[];
}

export interface ApplyOptions extends CommonOptions {
  force: boolean;
}

export interface TrackOptions extends CommonOptions {
  operation: 'Update';
}

export interface PatchEngine {
  jsonPatch(obj: KubeObject, ops: unknown): KubeObject;
  mergePatch(obj: KubeObject, patch: unknown): KubeObject;
  strategicMergePatch(obj: KubeObject, patch: unknown, typeInfo: unknown): KubeObject;
  /** the object after applying `applied` for `manager`, managedFields included; throws a conflict error listing manager and field */
  serverSideApply(live: KubeObject | undefined, applied: KubeObject, o: ApplyOptions): KubeObject;
  /** managedFields after an Update (create, update, patch) by `manager` */
  trackUpdate(old: KubeObject | undefined, next: KubeObject, o: TrackOptions): ManagedFieldsEntry[];
  typeInfoFor(group: string, version: string, kind: string): unknown;
}

const TYPES: Record<string, PatchType> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
};

export const PATCH_CONTENT_TYPES = Object.keys(TYPES);

/** The patch type of a Content-Type header (parameters ignored), or undefined. */
export function patchTypeOf(contentType: string | undefined): PatchType | undefined {
  const base = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return TYPES[base];
}

/** The shapes of the patch module's errors (src/relay/patch/errors.ts), matched structurally. */
export interface PatchFailure {
  kind: 'PatchError';
  message: string;
  code: 400 | 422;
  field?: string;
}
export interface ApplyConflict {
  kind: 'ApplyConflictError';
  message: string;
  causes(): { reason: string; message: string; field: string }[];
}

export const isPatchFailure = (e: unknown): e is PatchFailure => !!e && typeof e === 'object' && (e as { kind?: unknown }).kind === 'PatchError';
export const isApplyConflict = (e: unknown): e is ApplyConflict => !!e && typeof e === 'object' && (e as { kind?: unknown }).kind === 'ApplyConflictError';
