/** Every error the API can meet, as the Status kubectl and client-node understand. */
import { badRequest, causeReason, failure, internalError, invalid, isStatusError, StatusError } from '../../contract/kube/status.js';
import type { StatusCause } from '../../contract/kube/types.js';
import { isValidationError, type FieldIssue } from '../../core/errors.js';
import type { ResourceDef } from '../kinds/types.js';
import { StoreConflictError, StoreExistsError, StoreNotFoundError, StoreUnavailableError } from '../store/objects.js';
import { isApplyConflict, isPatchFailure } from './patching.js';

export const causesOf = (issues: readonly FieldIssue[]): StatusCause[] =>
  issues.map((i) => ({ reason: causeReason(i.reason), message: i.reason, ...(i.path ? { field: i.path } : {}) }));

export function invalidObject(def: ResourceDef, name: string, issues: readonly FieldIssue[]): StatusError {
  return invalid(def.kind, def.group, name, causesOf(issues));
}

export function toStatusError(e: unknown, def?: ResourceDef, name?: string): StatusError {
  if (isStatusError(e)) return e;
  if (isApplyConflict(e)) {
    const causes = e.causes();
    return new StatusError(failure(409, 'Conflict', e.message, { ...(name ? { name } : {}), ...(def ? { group: def.group, kind: def.plural } : {}), causes }));
  }
  if (isPatchFailure(e)) {
    if (e.code === 422 && def) return invalidObject(def, name ?? '', [{ path: e.field ?? '', reason: e.message }]);
    return badRequest(e.message);
  }
  if (isValidationError(e)) return def ? invalidObject(def, name ?? '', e.issues) : badRequest(e.message);
  if (e instanceof StoreExistsError || e instanceof StoreConflictError || e instanceof StoreNotFoundError) {
    const code = e instanceof StoreNotFoundError ? 404 : 409;
    return new StatusError(failure(code, e instanceof StoreNotFoundError ? 'NotFound' : e instanceof StoreExistsError ? 'AlreadyExists' : 'Conflict', e.message));
  }
  // the store away (PostgreSQL restarting): no verdict; a client may try again
  if (e instanceof StoreUnavailableError) return new StatusError(failure(503, 'ServiceUnavailable', e.message, { retryAfterSeconds: 1 }));
  return internalError(e instanceof Error ? e.message : String(e));
}
