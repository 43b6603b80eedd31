/**
 * Kubernetes Status objects and the error that carries one (pure). Messages follow
 * kube-apiserver's wording, because kubectl prints them verbatim:
 *   Error from server (NotFound): pods "x" not found
 *   The Pod "x" is invalid: * spec.containers[0].image: Required value
 */
import type { Status, StatusCause, StatusReason } from './types.js';

/** The resource a Status talks about: `kind` is the plural resource (as kube-apiserver puts it in details.kind). */
export interface StatusSubject {
  group: string;
  resource: string;
  name?: string;
}

export class StatusError extends Error {
  constructor(readonly status: Status) {
    super(status.message ?? status.reason ?? 'error');
    this.name = 'StatusError';
  }
  get code(): number {
    return this.status.code;
  }
  get reason(): StatusReason | undefined {
    return this.status.reason;
  }
}

export const isStatusError = (e: unknown): e is StatusError => e instanceof StatusError;

const qualified = (s: StatusSubject): string => (s.group ? `${s.resource}.${s.group}` : s.resource);

export function failure(code: number, reason: StatusReason, message: string, details?: Status['details']): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

export function success(details?: Status['details']): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', ...(details ? { details } : {}), code: 200 };
}

const subjectDetails = (s: StatusSubject): Status['details'] => ({ ...(s.name !== undefined ? { name: s.name } : {}), group: s.group, kind: s.resource });

export const notFound = (s: StatusSubject): StatusError =>
  new StatusError(failure(404, 'NotFound', `${qualified(s)} "${s.name ?? ''}" not found`, subjectDetails(s)));

export const alreadyExists = (s: StatusSubject): StatusError =>
  new StatusError(failure(409, 'AlreadyExists', `${qualified(s)} "${s.name ?? ''}" already exists`, subjectDetails(s)));

export const conflict = (s: StatusSubject, why = 'the object has been modified; please apply your changes to the latest version and try again'): StatusError =>
  new StatusError(failure(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(s)} "${s.name ?? ''}": ${why}`, subjectDetails(s)));

/** 422 with one cause per field: kubectl prints `The Kind "name" is invalid:` then `* field: message` per cause. */
export function invalid(kind: string, group: string, name: string, causes: StatusCause[]): StatusError {
  const list = causes.map((c) => (c.field ? `${c.field}: ${c.message ?? ''}` : c.message ?? '')).join(', ');
  const message = `${kind}${group ? `.${group}` : ''} "${name}" is invalid: ${causes.length > 1 ? `[${list}]` : list}`;
  return new StatusError(failure(422, 'Invalid', message, { name, group, kind, causes }));
}

export const badRequest = (message: string): StatusError => new StatusError(failure(400, 'BadRequest', message));

export const unauthorized = (): StatusError => new StatusError(failure(401, 'Unauthorized', 'Unauthorized'));

export const forbidden = (message: string, s?: StatusSubject): StatusError =>
  new StatusError(failure(403, 'Forbidden', message, s ? subjectDetails(s) : undefined));

export const methodNotAllowed = (message: string): StatusError => new StatusError(failure(405, 'MethodNotAllowed', message));

export const notAcceptable = (message: string): StatusError => new StatusError(failure(406, 'NotAcceptable', message));

export const unsupportedMediaType = (message: string): StatusError => new StatusError(failure(415, 'UnsupportedMediaType', message));

export const tooLarge = (message: string): StatusError => new StatusError(failure(413, 'RequestEntityTooLarge', message));

/** A watch or continue token older than the history kept: 410 Expired (kubectl and informers relist). */
export const expired = (message: string): StatusError => new StatusError(failure(410, 'Expired', message));

export const internalError = (message: string): StatusError =>
  new StatusError(failure(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] }));

export const serverTimeout = (message: string): StatusError => new StatusError(failure(504, 'Timeout', message));

export const pathNotFound = (): StatusError => new StatusError(failure(404, 'NotFound', 'the server could not find the requested resource', {}));

/** The reason kube-apiserver puts on a field cause, from our issue text. */
export function causeReason(message: string): string {
  if (/^required|required value/i.test(message)) return 'FieldValueRequired';
  if (/^unknown field/i.test(message)) return 'FieldValueInvalid';
  if (/unsupported value|must be one of/i.test(message)) return 'FieldValueNotSupported';
  if (/duplicate/i.test(message)) return 'FieldValueDuplicate';
  if (/immutable|forbidden/i.test(message)) return 'FieldValueForbidden';
  if (/too long|must be no more than|at most/i.test(message)) return 'FieldValueTooLong';
  return 'FieldValueInvalid';
}
