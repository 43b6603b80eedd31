/**
 * Where edgectl finds the relay, its token and the CA to trust it by: flags (--server, --token,
 * --ca-file), then the environment (EDGECTL_SERVER, EDGECTL_TOKEN, EDGECTL_CA_FILE), then a config
 * file (--config, EDGECTL_CONFIG, the demo's .edgecore/edgectl.yaml — in the current directory, or
 * in the checkout whose dist/edgectl.js runs — or ~/.edgectl/config.yaml) holding `server:`,
 * `token:` and `caFile:` (`edgerelay kubeconfig` carries the same CA for kubectl). Without a CA
 * file the system's CAs apply. The file is read by the one config reader (src/lib/config-file.ts):
 * a missing file, bad YAML or an unknown key is named.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadConfigYamlFile } from '../lib/config-file.js';
import * as z from 'zod';
import { section } from '../lib/schema.js';

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
  /** the running edgectl script (process.argv[1]): dist/edgectl.js in a checkout */
  script?: string;
}

const fileSchema = section({ server: z.string().optional(), token: z.string().optional(), caFile: z.string().optional() });

export function defaultConfigPath(env: NodeJS.ProcessEnv, home = homedir(), cwd = process.cwd(), script?: string): string {
  if (env.EDGECTL_CONFIG) return env.EDGECTL_CONFIG;
  const demo = [join(cwd, '.edgecore', 'edgectl.yaml'), ...(script ? [join(dirname(script), '..', '.edgecore', 'edgectl.yaml')] : [])];
  return demo.find((f) => existsSync(f)) ?? join(home, '.edgectl', 'config.yaml');
}

export function resolveSettings(i: SettingsInput): CtlSettings {
  const file = i.configFile ?? defaultConfigPath(i.env, i.home, i.cwd, i.script);
  // an explicit file must exist; the default one is optional
  const fromFile = i.configFile || existsSync(file) ? loadConfigYamlFile(fileSchema, file) : {};
  const server = i.server ?? i.env.EDGECTL_SERVER ?? fromFile.server;
  const token = i.token ?? i.env.EDGECTL_TOKEN ?? fromFile.token;
  const caFile = i.caFile ?? i.env.EDGECTL_CA_FILE ?? fromFile.caFile ?? '';
  if (!server) throw new Error(`no relay server: pass --server URL, set EDGECTL_SERVER, or put "server:" in ${file}`);
  if (!token) throw new Error(`no admin token: pass --token T, set EDGECTL_TOKEN, or put "token:" in ${file}`);
  return { server, token, caFile, source: file };
}
