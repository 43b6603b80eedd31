/**
 * Config parsing shared by the drivers: zod schemas over the free-form `configData` maps, with
 * issues reported at paths relative to the Device spec (`protocol.configData.baudRate`,
 * `properties[2].visitors.configData.register`).
 */
import { ValidationError, type FieldIssue } from '../core/errors.js';
import * as z from 'zod';
import { toFieldIssues } from '../lib/schema.js';
import type { PropertyVisitor } from './types.js';

export const PROTOCOL_PATH = 'protocol.configData';

export function visitorPath(v: PropertyVisitor, i: number): string {
  return `properties[${v.index ?? i}].visitors.configData`;
}

export function check<S extends z.ZodType>(schema: S, value: unknown, prefix: string): FieldIssue[] {
  const r = schema.safeParse(value ?? {});
  return r.success ? [] : toFieldIssues(r.error, prefix);
}

/** Validate the protocol config and every visitor with the given schemas. */
export function validateAll(
  protocolSchema: z.ZodType,
  visitorSchema: z.ZodType,
  protocolConfig: Record<string, unknown>,
  visitors: PropertyVisitor[],
): FieldIssue[] {
  return [
    ...check(protocolSchema, protocolConfig, PROTOCOL_PATH),
    ...visitors.flatMap((v, i) => check(visitorSchema, v.config, visitorPath(v, i))),
  ];
}

export function parseConfig<S extends z.ZodType>(schema: S, value: unknown, prefix: string, subject: string): z.output<S> {
  const r = schema.safeParse(value ?? {});
  if (!r.success) throw new ValidationError(toFieldIssues(r.error, prefix), subject);
  return r.data;
}

/**
 * Parsed visitor configs, cached per config object (devicetwin passes the same object on every
 * read), so a hot read path does not re-run the schema.
 */
export function visitorParser<S extends z.ZodType>(schema: S, protocol: string): (v: PropertyVisitor) => z.output<S> {
  const cache = new WeakMap<object, z.output<S>>();
  return (v) => {
    const hit = cache.get(v.config);
    if (hit !== undefined) return hit;
    const parsed = parseConfig(schema, v.config, `${v.property}.visitors.configData`, `${protocol} visitor`);
    cache.set(v.config, parsed);
    return parsed;
  };
}

/** An integer written as a number or as a "0x.."/decimal string (YAML authors write both). */
export const intLike = z.union([
  z.number().int(),
  z
    .string()
    .regex(/^(0x[0-9a-fA-F]+|-?[0-9]+)$/, 'expected an integer or 0x-hex string')
    .transform((s) => Number(s)),
]);

export function intIn(min: number, max: number) {
  return intLike.pipe(z.number().int().min(min).max(max));
}
