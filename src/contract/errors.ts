/**
 * The one closed set of error codes on every wire edgecore speaks — the relay's HTTP API (and so
 * edgectl and `edgecore join`), a node's answers to relay calls (`rpc/response`), and the results
 * on the KubeEdge mapper topics (`$hw/…/result`, numeric codes there) — and the one mapping from
 * the typed errors of src/core/errors.ts to them.
 */
import { errorMessage, isConflictError, isNoRouteError, isNotFoundError, isTimeoutError, isValidationError, type FieldIssue } from '../core/errors.js';
import * as z from 'zod';

export const ERROR_CODES = [
  /** input refused (field paths in `issues`) */
  'Invalid',
  /** a body that is not JSON */
  'BadJson',
  /** a body over the size limit */
  'TooLarge',
  /** missing or wrong credentials */
  'Unauthorized',
  /** right credentials, not allowed to do this (the read-only token writing) */
  'Forbidden',
  'NotFound',
  /** a stale version or a clash with what exists */
  'Conflict',
  /** nothing serves this here (a module disabled on the node) */
  'NotImplemented',
  /** no answer in time (a node offline, a module busy) */
  'Timeout',
  /** the relay is stopping */
  'Unavailable',
  /** the node (or what it asked) failed */
  'Failed',
  /** the relay itself failed */
  'Internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** An error as it travels: code, message and, for `Invalid`, the field issues. */
export interface WireErrorBody {
  code: ErrorCode;
  message: string;
  issues?: FieldIssue[];
}

export const fieldIssueSchema = z.object({ path: z.string(), reason: z.string() });

/** An error body read off the wire; a code outside the set (a newer peer) reads as `Failed`. */
export const wireErrorSchema = z.object({
  code: z.enum(ERROR_CODES).catch('Failed'),
  message: z.string(),
  issues: z.array(fieldIssueSchema).optional(),
});

/** An error that carries its wire code (raised where the code is known, e.g. a refused request). */
export class WireError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly issues?: FieldIssue[],
  ) {
    super(message);
    this.name = 'WireError';
  }
}

const HTTP_STATUS: Record<ErrorCode, number> = {
  Invalid: 422,
  BadJson: 400,
  TooLarge: 413,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  Conflict: 409,
  NotImplemented: 501,
  Timeout: 504,
  Unavailable: 502,
  Failed: 502,
  Internal: 500,
};

/** The HTTP status of a code (the relay's API). */
export const httpStatusOf = (code: ErrorCode): number => HTTP_STATUS[code];

/** The numeric code of KubeEdge's mapper results: bad input, not found, conflict, anything else. */
export function mapperCodeOf(code: ErrorCode): 400 | 404 | 409 | 500 {
  if (code === 'Invalid' || code === 'BadJson' || code === 'TooLarge') return 400;
  if (code === 'NotFound') return 404;
  if (code === 'Conflict') return 409;
  return 500;
}

/**
 * Any error as it goes on the wire. Typed errors map to their code; anything else is `fallback`
 * (`Failed` where a node answers, `Internal` where the relay answers for itself).
 */
export function wireErrorOf(e: unknown, fallback: 'Failed' | 'Internal'): WireErrorBody {
  if (e instanceof WireError) return { code: e.code, message: e.message, ...(e.issues ? { issues: e.issues } : {}) };
  if (isValidationError(e)) return { code: 'Invalid', message: e.message, issues: e.issues };
  if (isNotFoundError(e)) return { code: 'NotFound', message: e.message };
  if (isConflictError(e)) return { code: 'Conflict', message: e.message };
  if (isNoRouteError(e)) return { code: 'NotImplemented', message: `${e.message} (module disabled on this node?)` };
  if (isTimeoutError(e)) return { code: 'Timeout', message: e.message };
  return { code: fallback, message: errorMessage(e) };
}

/** A wire error for people: the message, then each field issue the message does not already name. */
export function describeWireError(e: { message: string; issues?: readonly FieldIssue[] | undefined }): string {
  const issues = (e.issues ?? []).filter((i) => !e.message.includes(`${i.path}: ${i.reason}`));
  return e.message + (issues.length ? '\n' + issues.map((i) => `  ${i.path || '(root)'}: ${i.reason}`).join('\n') : '');
}
