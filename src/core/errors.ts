/**
 * Typed errors used across edgecore. Guards (`isX`) are the only way callers should
 * branch on error kinds: never compare messages.
 */

/** One problem found while validating input: where (a dotted field path) and why. */
export interface FieldIssue {
  path: string;
  reason: string;
}

/** Input was refused. Nothing was changed. */
export class ValidationError extends Error {
  readonly code = 'EVALIDATION';
  constructor(
    readonly issues: FieldIssue[],
    readonly subject = 'input',
  ) {
    super(`${subject} is invalid: ${issues.map((i) => `${i.path || '(root)'}: ${i.reason}`).join('; ')}`);
    this.name = 'ValidationError';
  }
}

/** Configuration was refused; the daemon must not start. */
export class ConfigError extends ValidationError {
  /** `message` replaces the default "config FILE is invalid: ..." (e.g. for a missing file) */
  constructor(
    issues: FieldIssue[],
    readonly file?: string,
    message?: string,
  ) {
    super(issues, file ? `config ${file}` : 'config');
    this.name = 'ConfigError';
    if (message) this.message = message;
  }
}

/** A request on the bus got no answer in time. */
export class TimeoutError extends Error {
  readonly code = 'ETIMEOUT';
  constructor(what: string, readonly ms: number) {
    super(`${what} timed out after ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

/** A message was addressed to a module or group that is not registered or not running. */
export class NoRouteError extends Error {
  readonly code = 'ENOROUTE';
  constructor(readonly target: string) {
    super(`no running module handles messages for ${target}`);
    this.name = 'NoRouteError';
  }
}

/** Something that should exist does not. */
export class NotFoundError extends Error {
  readonly code = 'ENOTFOUND';
  constructor(what: string) {
    super(`${what} not found`);
    this.name = 'NotFoundError';
  }
}

/** An optimistic-concurrency check failed (stale version). */
export class ConflictError extends Error {
  readonly code = 'ECONFLICT';
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

export const isValidationError = (e: unknown): e is ValidationError => e instanceof ValidationError;
export const isConfigError = (e: unknown): e is ConfigError => e instanceof ConfigError;
export const isTimeoutError = (e: unknown): e is TimeoutError => e instanceof TimeoutError;
export const isNoRouteError = (e: unknown): e is NoRouteError => e instanceof NoRouteError;
export const isNotFoundError = (e: unknown): e is NotFoundError => e instanceof NotFoundError;
export const isConflictError = (e: unknown): e is ConflictError => e instanceof ConflictError;

/** errno-style errors from node/system calls (ENOENT, EACCES, ECONNREFUSED...). */
export function errnoCode(e: unknown): string | undefined {
  if (e && typeof e === 'object' && 'code' in e && typeof (e as { code: unknown }).code === 'string') {
    return (e as { code: string }).code;
  }
  return undefined;
}

/**
 * The HTTP status an API client attached to its error (dockerode/docker-modem: `statusCode`), if
 * any: 404 gone, 409 conflict, 304 not modified. The one place that reads it.
 */
export function statusCodeOf(e: unknown): number | undefined {
  if (e && typeof e === 'object' && 'statusCode' in e && typeof (e as { statusCode: unknown }).statusCode === 'number') {
    return (e as { statusCode: number }).statusCode;
  }
  return undefined;
}

/** An API client error carrying one of these HTTP statuses. */
export const hasStatus = (e: unknown, ...codes: number[]): boolean => {
  const c = statusCodeOf(e);
  return c !== undefined && codes.includes(c);
};

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
