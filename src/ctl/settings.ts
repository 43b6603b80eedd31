/**
 * Where edgectl finds the relay, its token and the CA to trust it by: flags (--server, --token,
 * --ca-file), then the environment (EDGECTL_SERVER, EDGECTL_TOKEN, EDGECTL_CA_FILE), then a
 * config file (--config, EDGECTL_CONFIG, ./.edgecore/edgectl.yaml — written by scripts/demo.mjs
 * in the checkout — or ~/.edgectl/config.yaml) holding `server:`, `token:` and `caFile:`
 * (`edgerelay kubeconfig` carries the same CA for kubectl). Without a CA file the system's CAs apply.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';

export interface CtlSettings {
  server: string;
  token: string;
  /** PEM file of the CA that signed the relay's certificate ('' = the system's CAs) */
  caFile: string;
  source: string;
}

export interface SettingsInput {
  server?: string;
  token?: string;
  caFile?: string;
  configFile?: string;
  env: NodeJS.ProcessEnv;
  home?: string;
  cwd?: string;
}

export function defaultConfigPath(env: NodeJS.ProcessEnv, home = homedir(), cwd = process.cwd()): string {
  if (env.EDGECTL_CONFIG) return env.EDGECTL_CONFIG;
  const demo = join(cwd, '.edgecore', 'edgectl.yaml');
  return existsSync(demo) ? demo : join(home, '.edgectl', 'config.yaml');
}

export function resolveSettings(i: SettingsInput): CtlSettings {
  const file = i.configFile ?? defaultConfigPath(i.env, i.home, i.cwd);
  let fromFile: { server?: unknown; token?: unknown; caFile?: unknown } = {};
  if (i.configFile && !existsSync(i.configFile)) throw new Error(`config file ${i.configFile} not found`);
  if (existsSync(file)) {
    try {
      fromFile = (parse(readFileSync(file, 'utf8')) ?? {}) as typeof fromFile;
    } catch (e) {
      throw new Error(`${file}: ${(e as Error).message}`);
    }
  }
  const server = i.server ?? i.env.EDGECTL_SERVER ?? (typeof fromFile.server === 'string' ? fromFile.server : undefined);
  const token = i.token ?? i.env.EDGECTL_TOKEN ?? (typeof fromFile.token === 'string' ? fromFile.token : undefined);
  const caFile = i.caFile ?? i.env.EDGECTL_CA_FILE ?? (typeof fromFile.caFile === 'string' ? fromFile.caFile : '');
  if (!server) throw new Error(`no relay server: pass --server URL, set EDGECTL_SERVER, or put "server:" in ${file}`);
  if (!token) throw new Error(`no admin token: pass --token T, set EDGECTL_TOKEN, or put "token:" in ${file}`);
  return { server, token, caFile, source: file };
}
