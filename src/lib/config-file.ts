/**
 * Reading a YAML config file against a schema, shared by edgecore and edgerelay: YAML syntax
 * errors name the line and column, schema errors name the field path, an unreadable file says
 * why; all as a ConfigError (exit code 78 in the CLIs).
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError, errnoCode, errorMessage } from '../core/errors.js';
import { toFieldIssues } from './schema.js';

/** Validate an already-parsed value (defaults filled in). */
export function parseConfigValue<S extends z.ZodType>(schema: S, value: unknown, file?: string): z.output<S> {
  const r = schema.safeParse(value ?? {});
  if (!r.success) throw new ConfigError(toFieldIssues(r.error), file);
  return r.data;
}

/** Parse YAML text (duplicate keys refused) and validate it. */
export function parseConfigYaml<S extends z.ZodType>(schema: S, text: string, file?: string): z.output<S> {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const where = e.linePos?.[0] ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '(yaml)';
    throw new ConfigError([{ path: where, reason: e.message.split('\n')[0] ?? 'invalid YAML' }], file);
  }
  return parseConfigValue(schema, doc.toJS(), file);
}

export function loadConfigYamlFile<S extends z.ZodType>(schema: S, file: string): z.output<S> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError([{ path: '(file)', reason: errnoCode(e) === 'ENOENT' ? 'file not found' : errorMessage(e) }], file);
  }
  return parseConfigYaml(schema, text, file);
}
