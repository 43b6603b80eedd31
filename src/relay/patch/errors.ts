/**
 * The two ways a patch or apply is refused. The API layer turns them into Status objects:
 * a PatchError into 400 BadRequest (the patch itself is malformed) or 422 Invalid (it is well
 * formed but cannot be applied to this object); an ApplyConflictError into 409 Conflict with one
 * FieldManagerConflict cause per field, in the words kubectl prints.
 */

export type PatchErrorCode = 400 | 422;

export class PatchError extends Error {
  readonly kind = 'PatchError';
  constructor(
    message: string,
    /** 400: the patch is malformed; 422: it does not apply to this object */
    readonly code: PatchErrorCode = 400,
    /** where in the patch or object, when known (dotted, as Status causes name fields) */
    readonly field?: string,
  ) {
    super(message);
    this.name = 'PatchError';
  }
  get reason(): 'BadRequest' | 'Invalid' {
    return this.code === 400 ? 'BadRequest' : 'Invalid';
  }
}

/** One field another manager owns with a different value than the applier asks for. */
export interface FieldConflict {
  /** the other manager's name (e.g. kubectl-client-side-apply) */
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  /** the other manager's last write, RFC 3339, when known */
  time?: string;
  subresource?: string;
  /** the field in Kubernetes' path notation: `.spec.containers[name="c"].image` */
  path: string;
}

/** How Kubernetes names a manager in a conflict: `"m"`, or `"m" using v1 at <time>` for updaters. */
export function describeManager(c: Pick<FieldConflict, 'manager' | 'operation' | 'apiVersion' | 'time' | 'subresource'>): string {
  let s = JSON.stringify(c.manager);
  if (c.subresource) s += ` with subresource ${JSON.stringify(c.subresource)}`;
  if (c.operation === 'Update') s += c.time ? ` using ${c.apiVersion} at ${c.time}` : ` using ${c.apiVersion}`;
  return s;
}

function conflictMessage(conflicts: FieldConflict[]): string {
  if (conflicts.length === 1) {
    const c = conflicts[0]!;
    return `Apply failed with 1 conflict: conflict with ${describeManager(c)}: ${c.path}`;
  }
  const byManager = new Map<string, FieldConflict[]>();
  for (const c of conflicts) {
    const key = describeManager(c);
    byManager.set(key, [...(byManager.get(key) ?? []), c]);
  }
  const lines: string[] = [];
  for (const key of [...byManager.keys()].sort()) {
    lines.push(`conflicts with ${key}:`);
    for (const c of byManager.get(key)!) lines.push(`- ${c.path}`);
  }
  return `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
}

/** Server-side apply met fields owned by other managers and `force` was not set (409). */
export class ApplyConflictError extends Error {
  readonly kind = 'ApplyConflictError';
  readonly code = 409;
  readonly reason = 'Conflict';
  constructor(readonly conflicts: FieldConflict[]) {
    super(conflictMessage(conflicts));
    this.name = 'ApplyConflictError';
  }
  /** Status causes as Kubernetes writes them (type FieldManagerConflict, field = the path). */
  causes(): { reason: 'FieldManagerConflict'; message: string; field: string }[] {
    return this.conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${describeManager(c)}`, field: c.path }));
  }
}

export const isPatchError = (e: unknown): e is PatchError => e instanceof PatchError;
export const isApplyConflictError = (e: unknown): e is ApplyConflictError => e instanceof ApplyConflictError;
