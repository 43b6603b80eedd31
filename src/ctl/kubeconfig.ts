/**
 * kubectl's kubeconfig, read the way kubectl reads it, so `kubectl edge ...` (edgectl as a kubectl
 * plugin) talks to the relay kubectl talks to: the file of `--kubeconfig`, else the files listed
 * in $KUBECONFIG (`:`-separated, merged as kubectl merges them: the first file to name a context,
 * cluster or user, or `current-context`, wins), else ~/.kube/config. From the current context
 * (or `--context`): its cluster's `server` and CA (`certificate-authority-data`, or
 * `certificate-authority`, a file relative to the kubeconfig), its user's `token` (or
 * `tokenFile`), its `namespace`. Client certificates and exec plugins are not used: the relay's
 * API takes bearer tokens (`edgerelay kubeconfig` writes one).
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import * as z from 'zod';
import { errnoCode, errorMessage } from '../core/errors.js';
import { loadConfigYamlFile } from '../lib/config-file.js';

const clusterSchema = z.looseObject({ server: z.string().optional(), 'certificate-authority': z.string().optional(), 'certificate-authority-data': z.string().optional() });
const userSchema = z.looseObject({ token: z.string().optional(), tokenFile: z.string().optional() });
const contextSchema = z.looseObject({ cluster: z.string().optional(), user: z.string().optional(), namespace: z.string().optional() });
type Cluster = z.output<typeof clusterSchema>;
type User = z.output<typeof userSchema>;
type Context = z.output<typeof contextSchema>;

const kubeconfigSchema = z.looseObject({
  'current-context': z.string().nullish(),
  clusters: z.array(z.looseObject({ name: z.string(), cluster: clusterSchema.nullish() })).nullish(),
  users: z.array(z.looseObject({ name: z.string(), user: userSchema.nullish() })).nullish(),
  contexts: z.array(z.looseObject({ name: z.string(), context: contextSchema.nullish() })).nullish(),
});

export interface KubeconfigCredentials {
  server?: string;
  token?: string;
  /** the CA as PEM (certificate-authority-data, or the certificate-authority file read) */
  caPem?: string;
  namespace?: string;
  /** the file(s) read, for messages */
  source: string;
}

/**
 * The kubeconfig files kubectl would read: `--kubeconfig` (which must exist), else $KUBECONFIG's
 * existing files, else ~/.kube/config when it exists. `explicit`: named by the flag or $KUBECONFIG.
 */
export function kubeconfigFiles(flag: string | undefined, env: NodeJS.ProcessEnv, home = homedir()): { files: string[]; explicit: boolean } {
  if (flag) return { files: [flag], explicit: true };
  if (env.KUBECONFIG) return { files: env.KUBECONFIG.split(delimiter).filter((f) => f && existsSync(f)), explicit: true };
  const dflt = join(home, '.kube', 'config');
  return { files: existsSync(dflt) ? [dflt] : [], explicit: false };
}

interface Entry<T> {
  value: T | null | undefined;
  file: string;
}

/** Read and merge the files, then resolve the context; undefined when there are no files. */
export function readKubeconfig(files: readonly string[], context?: string): KubeconfigCredentials | undefined {
  if (files.length === 0) return undefined;
  let current: string | undefined;
  const clusters = new Map<string, Entry<Cluster>>();
  const users = new Map<string, Entry<User>>();
  const contexts = new Map<string, Entry<Context>>();
  for (const file of files) {
    const kc = loadConfigYamlFile(kubeconfigSchema, file);
    current ??= kc['current-context'] || undefined;
    for (const c of kc.clusters ?? []) if (!clusters.has(c.name)) clusters.set(c.name, { value: c.cluster, file });
    for (const u of kc.users ?? []) if (!users.has(u.name)) users.set(u.name, { value: u.user, file });
    for (const c of kc.contexts ?? []) if (!contexts.has(c.name)) contexts.set(c.name, { value: c.context, file });
  }
  const source = files.join(delimiter);
  const name = context ?? current;
  if (!name) return { source };
  const ctx = contexts.get(name)?.value;
  if (!ctx) throw new Error(`kubeconfig ${source}: context "${name}" not found`);
  const cluster = ctx.cluster !== undefined ? clusters.get(ctx.cluster) : undefined;
  if (ctx.cluster !== undefined && !cluster) throw new Error(`kubeconfig ${source}: cluster "${ctx.cluster}" (of context "${name}") not found`);
  const user = ctx.user !== undefined ? users.get(ctx.user) : undefined;
  if (ctx.user !== undefined && !user) throw new Error(`kubeconfig ${source}: user "${ctx.user}" (of context "${name}") not found`);
  const c = cluster?.value;
  const u = user?.value;
  const rel = (f: string, from: string): string => (isAbsolute(f) ? f : join(dirname(from), f));
  let caPem: string | undefined;
  if (c?.['certificate-authority-data']) caPem = Buffer.from(c['certificate-authority-data'], 'base64').toString('utf8');
  else if (c?.['certificate-authority']) caPem = readNamed(rel(c['certificate-authority'], cluster!.file), `the CA file of cluster "${ctx.cluster}"`);
  let token = u?.token;
  if (!token && u?.tokenFile) token = readNamed(rel(u.tokenFile, user!.file), `the token file of user "${ctx.user}"`).trim();
  return {
    source,
    ...(c?.server ? { server: c.server } : {}),
    ...(token ? { token } : {}),
    ...(caPem ? { caPem } : {}),
    ...(ctx.namespace ? { namespace: ctx.namespace } : {}),
  };
}

function readNamed(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(errnoCode(e) === 'ENOENT' ? `${what}, ${file}, not found` : `${what}, ${file}, cannot be read: ${errorMessage(e)}`);
  }
}
