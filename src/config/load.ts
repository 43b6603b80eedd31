/** Reading, validating and printing edgecore's config file. */
import { stringify } from 'yaml';
import { loadConfigYamlFile, parseConfigValue, parseConfigYaml } from '../lib/config-file.js';
import { configSchema, type EdgecoreConfig } from './schema.js';

/** Validate an already-parsed value (defaults filled in). Throws ConfigError naming each bad field. */
export function parseConfig(value: unknown, file?: string): EdgecoreConfig {
  return parseConfigValue(configSchema, value, file);
}

/** Parse YAML text; syntax errors name the line and column. */
export function parseConfigText(text: string, file?: string): EdgecoreConfig {
  return parseConfigYaml(configSchema, text, file);
}

export function loadConfigFile(file: string): EdgecoreConfig {
  return loadConfigYamlFile(configSchema, file);
}

/** The complete default config as YAML, with a header. */
export function defaultConfigYaml(): string {
  const cfg = parseConfig({});
  return `# edgecore configuration — every key with its default. Unknown keys are refused.\n${stringify(cfg)}`;
}
