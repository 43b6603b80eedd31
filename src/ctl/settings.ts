/**
 * Where edgectl finds the relay, its token and the CA to trust it by, each value from the first
 * of these that has it:
 *   1. flags: --server, --token, --ca-file
 *   2. --kubeconfig FILE (with --context): kubectl's own file (src/ctl/kubeconfig.ts)
 *   3. the environment: EDGECTL_SERVER, EDGECTL_TOKEN, EDGECTL_CA_FILE
 *   4. an edgectl config file named by --config (which must exist) or EDGECTL_CONFIG (if present)
 *   5. $KUBECONFIG (as kubectl reads it)
 *   6. the default edgectl config file if present (the demo's .edgecore/edgectl.yaml — in the
 *      current directory, or in the checkout whose dist/edgectl.js runs — or ~/.edgectl/config.yaml)
 *   7. ~/.kube/config if present
 * so `kubectl edge ...` (edgectl as a kubectl plugin) uses what kubectl uses, and edgectl's own
 * settings still win when given. An edgectl config file holds `server:`, `token:` and `caFile:`;
 * a kubeconfig gives the CA as data or a file, and the context's namespace. Without a CA the
 * system's CAs apply. Files are read by the one config reader (src/lib/config-file.ts): a missing
 * file, bad YAML or (in edgectl's file) an unknown key is named.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadConfigYamlFile } from '../lib/config-file.js';
import { kubeconfigFiles, readKubeconfig } from './kubeconfig.js';
import * as z from 'zod';
import { section } from '../lib/schema.js';

export interface CtlSettings {
  server: string;
  token: string;
  /** PEM file of the CA that signed the relay's certificate ('' = the system's CAs or caPem) */
  caFile: string;
  /** the CA as PEM, from a kubeconfig */
  caPem?: string;
  /** the kubeconfig context's namespace */
  namespace?: string;
  source: string;
}

export interface SettingsInput {
  server?: string;
  token?: string;
  caFile?: string;
  configFile?: string;
  /** --kubeconfig and --context */
  kubeconfig?: string;
  context?: string;
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

interface Layer {
  server?: string | undefined;
  token?: string | undefined;
  ca?: { file: string } | { pem: string } | undefined;
  namespace?: string | undefined;
  source: string;
}

export function resolveSettings(i: SettingsInput): CtlSettings {
  const fromKubeconfig = (files: string[]): Layer | undefined => {
    const k = readKubeconfig(files, i.context);
    return k && { server: k.server, token: k.token, ca: k.caPem ? { pem: k.caPem } : undefined, namespace: k.namespace, source: k.source };
  };
  const fromFile = (file: string): Layer => {
    const f = loadConfigYamlFile(fileSchema, file);
    return { server: f.server, token: f.token, ca: f.caFile !== undefined ? { file: f.caFile } : undefined, source: file };
  };
  const kube = kubeconfigFiles(i.kubeconfig, i.env, i.home);
  const explicitFile = i.configFile ?? i.env.EDGECTL_CONFIG;
  const defaultFile = defaultConfigPath({}, i.home, i.cwd, i.script);
  const layers: (Layer | undefined)[] = [
    { server: i.server, token: i.token, ca: i.caFile !== undefined ? { file: i.caFile } : undefined, source: 'flags' },
    i.kubeconfig ? fromKubeconfig(kube.files) : undefined,
    { server: i.env.EDGECTL_SERVER, token: i.env.EDGECTL_TOKEN, ca: i.env.EDGECTL_CA_FILE !== undefined ? { file: i.env.EDGECTL_CA_FILE } : undefined, source: 'environment' },
    // --config must exist; EDGECTL_CONFIG and the default file are optional (as before the kubeconfig)
    i.configFile ? fromFile(i.configFile) : explicitFile && existsSync(explicitFile) ? fromFile(explicitFile) : undefined,
    !i.kubeconfig && kube.explicit ? fromKubeconfig(kube.files) : undefined,
    !explicitFile && existsSync(defaultFile) ? fromFile(defaultFile) : undefined,
    !i.kubeconfig && !kube.explicit ? fromKubeconfig(kube.files) : undefined,
  ];
  const first = (k: 'server' | 'token'): string | undefined => layers.find((l) => l?.[k])?.[k];
  const server = first('server');
  const token = first('token');
  const ca = layers.find((l) => l?.ca !== undefined)?.ca;
  // a kubeconfig's namespace goes with its server (not with a server from elsewhere)
  const namespace = layers.find((l) => l?.server)?.namespace;
  const where = explicitFile ?? defaultFile;
  const kubeHint = i.kubeconfig ? `, or set it in kubeconfig ${i.kubeconfig}` : ', or use a kubeconfig (--kubeconfig, KUBECONFIG)';
  if (!server) throw new Error(`no relay server: pass --server URL, set EDGECTL_SERVER, or put "server:" in ${where}${kubeHint}`);
  if (!token) throw new Error(`no admin token: pass --token T, set EDGECTL_TOKEN, or put "token:" in ${where}${kubeHint}`);
  const source = layers.find((l) => l?.server)?.source ?? where;
  return {
    server,
    token,
    caFile: ca && 'file' in ca ? ca.file : '',
    ...(ca && 'pem' in ca ? { caPem: ca.pem } : {}),
    ...(namespace ? { namespace } : {}),
    source,
  };
}
