/** Reading, validating and printing edgecore's config file. */
import { readFileSync } from 'node:fs';
import { parseDocument, stringify } from 'yaml';
import { ConfigError, errnoCode, errorMessage } from '../core/errors.js';
import { toFieldIssues } from '../lib/schema.js';
import { configSchema, type EdgecoreConfig } from './schema.js';

/** Validate an already-parsed value (defaults filled in). Throws ConfigError naming each bad field. */
export function parseConfig(value: unknown, file?: string): EdgecoreConfig {
  const r = configSchema.safeParse(value ?? {});
  if (!r.success) throw new ConfigError(toFieldIssues(r.error), file);
  return r.data;
}

/** Parse YAML text; syntax errors name the line and column. */
export function parseConfigText(text: string, file?: string): EdgecoreConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const where = e.linePos?.[0] ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '(yaml)';
    throw new ConfigError([{ path: where, reason: e.message.split('\n')[0] ?? 'invalid YAML' }], file);
  }
  return parseConfig(doc.toJS(), file);
}

export function loadConfigFile(file: string): EdgecoreConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const why = errnoCode(e) === 'ENOENT' ? 'file not found' : errorMessage(e);
    throw new ConfigError([{ path: '(file)', reason: why }], file);
  }
  return parseConfigText(text, file);
}

/** The complete default config as YAML, with a header. */
export function defaultConfigYaml(): string {
  const cfg = parseConfig({});
  return `# edgecore configuration — every key with its default. Unknown keys are refused.\n${stringify(cfg)}`;
}
