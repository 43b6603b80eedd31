/**
 * Reading a YAML config file against a schema, shared by edgecore, edgerelay and edgectl: a
 * missing or unreadable file says so in plain words, YAML syntax errors name the line and column
 * (once, with no trailing excerpt), schema errors name the field path, and a document that
 * expands too many aliases is refused naming the file; all as a ConfigError (exit code 78).
 */
import { readFileSync } from 'node:fs';
import { parseDocument, type YAMLError } from 'yaml';
import type { z } from 'zod';
import { ConfigError, errnoCode, errorMessage, type FieldIssue } from '../core/errors.js';
import { toFieldIssues } from './schema.js';

/** Validate an already-parsed value (defaults filled in). */
export function parseConfigValue<S extends z.ZodType>(schema: S, value: unknown, file?: string): z.output<S> {
  const r = schema.safeParse(value ?? {});
  if (!r.success) throw new ConfigError(toFieldIssues(r.error), file);
  return r.data;
}

/**
 * One YAML parse error as a field issue: `line 9, column 1` and the parser's reason without the
 * " at line 9, column 1:" and source excerpt that its pretty message ends with.
 */
export function yamlIssue(e: YAMLError): FieldIssue {
  const where = e.linePos?.[0] ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '(yaml)';
  const reason = e.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '').split('\n')[0]!.trim();
  return { path: where, reason: reason || 'invalid YAML' };
}

/** A YAML document's value; an alias expansion bomb (or any conversion failure) is a field issue. */
export function yamlValue(toJS: () => unknown): { value: unknown } | { issue: FieldIssue } {
  try {
    return { value: toJS() };
  } catch (e) {
    const msg = errorMessage(e);
    return { issue: { path: '(yaml)', reason: /alias/i.test(msg) ? `too many alias expansions: ${msg}` : msg } };
  }
}

/** Parse YAML text (duplicate keys refused) and validate it. */
export function parseConfigYaml<S extends z.ZodType>(schema: S, text: string, file?: string): z.output<S> {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) throw new ConfigError([yamlIssue(doc.errors[0]!)], file);
  const v = yamlValue(() => doc.toJS());
  if ('issue' in v) throw new ConfigError([v.issue], file);
  return parseConfigValue(schema, v.value, file);
}

/** The file's text; a missing or unreadable file is a ConfigError that says which and why. */
export function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT') throw new ConfigError([{ path: '(file)', reason: 'not found' }], file, `config file ${file} not found`);
    const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : errorMessage(e);
    throw new ConfigError([{ path: '(file)', reason: why }], file, `config file ${file} cannot be read: ${why}`);
  }
}

export function loadConfigYamlFile<S extends z.ZodType>(schema: S, file: string): z.output<S> {
  return parseConfigYaml(schema, readConfigText(file), file);
}
