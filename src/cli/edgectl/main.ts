/**
 * The `edgectl` command: only what kubectl cannot do (objects, nodes, logs and events are
 * kubectl's — the relay serves the Kubernetes API). Unknown flags are refused. Installed also as
 * `kubectl-edge`, a kubectl plugin: `kubectl edge twin get d1` runs it with the arguments after
 * `edge`; it behaves the same, reads kubectl's kubeconfig (--kubeconfig, --context, KUBECONFIG,
 * ~/.kube/config: src/ctl/settings.ts) and names itself `kubectl edge` in its help and errors.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { RelayClient } from '../../ctl/client.js';
import { describeError, telemetry, token, twin, UsageError as CtlUsage, type Io } from '../../ctl/commands.js';
import { resolveSettings } from '../../ctl/settings.js';
import { errnoCode, errorMessage } from '../../core/errors.js';
import { tlsFetch } from '../../lib/tls-fetch.js';
import { VERSION } from '../../version.js';
import { EXIT, flagString, parseArgs, runCli, UsageError } from '../args.js';

/** How this program was invoked: `kubectl edge` when run as the plugin `kubectl-edge`. */
export function programName(script: string | undefined): string {
  return script && basename(script).startsWith('kubectl-edge') ? 'kubectl edge' : 'edgectl';
}

const help = (p: string): string => `${p} ${VERSION} — what kubectl cannot do for an edgecore fleet

Usage:
  ${p} token create [--ttl SECONDS]                 a bootstrap token: prints the whole \`edgecore join\` command
  ${p} twin get DEVICE [-n NS] [-o json|yaml]       desired and reported twin values
  ${p} twin set DEVICE PROP=VALUE... [-n NS]        set desired values (spec.properties[].desired)
  ${p} telemetry [NODE] [--limit N] [-o json|yaml]  device samples the relay kept
  ${p} --version | --help

Everything else is kubectl against the relay: kubectl get nodes|pods|devices, apply -f,
describe, logs, delete... (edgerelay kubeconfig prints a kubeconfig; see docs/api.md).
edgectl is also a kubectl plugin: with kubectl-edge on PATH, \`kubectl edge twin get DEVICE\`.

Connection, each value from the first that has it: --server URL --token T --ca-file F;
--kubeconfig FILE [--context NAME]; EDGECTL_SERVER / EDGECTL_TOKEN / EDGECTL_CA_FILE; the edgectl
config file named by --config FILE or EDGECTL_CONFIG ("server:", "token:", "caFile:" — the relay's
CA, dataDir/pki/ca.crt on the relay); KUBECONFIG; ./.edgecore/edgectl.yaml (or the one in the checkout
this edgectl runs from) or ~/.edgectl/config.yaml; ~/.kube/config. A kubeconfig gives the current
context's server, CA, token and namespace, as kubectl reads them.
Errors go to stderr; the exit code is non-zero on any failure (2 for usage errors).`;

const COMMON = ['server', 's', 'token', 'config', 'ca-file', 'kubeconfig', 'context'];
/** the flags each command takes (anything else is refused), the valued ones first */
const FLAGS: Record<string, { valued: string[]; bare: string[] }> = {
  token: { valued: [...COMMON, 'ttl'], bare: [] },
  twin: { valued: [...COMMON, 'n', 'namespace', 'o', 'output'], bare: [] },
  telemetry: { valued: [...COMMON, 'limit', 'o', 'output'], bare: [] },
};

export async function main(argv: readonly string[], io: Io, env: NodeJS.ProcessEnv = process.env, prog = programName(process.argv[1])): Promise<number> {
  const all = new Set(Object.values(FLAGS).flatMap((f) => f.valued));
  const args = parseArgs(argv, all);
  const [cmd, ...rest] = args.positionals;
  if (args.flags.has('version') || cmd === 'version') {
    io.out(`${VERSION}\n`);
    return EXIT.OK;
  }
  if (args.flags.has('help') || args.flags.has('h') || !cmd || cmd === 'help') {
    io.out(help(prog) + '\n');
    return cmd || args.flags.has('help') || args.flags.has('h') ? EXIT.OK : EXIT.USAGE;
  }
  const allowed = FLAGS[cmd];
  if (!allowed) {
    const kubectl = ['apply', 'get', 'describe', 'delete', 'logs', 'edit', 'patch', 'label'].includes(cmd) ? ` (use kubectl ${cmd})` : '';
    throw new UsageError(`unknown command "${cmd}"${kubectl}; see ${prog} --help`);
  }
  for (const f of args.flags.keys()) {
    if (!allowed.valued.includes(f) && !allowed.bare.includes(f)) throw new UsageError(`unknown flag ${f.length === 1 ? '-' : '--'}${f} for "${prog} ${cmd}"`);
  }
  const settings = resolveSettings({
    server: flagString(args, 'server', 's'),
    token: flagString(args, 'token'),
    caFile: flagString(args, 'ca-file'),
    configFile: flagString(args, 'config'),
    kubeconfig: flagString(args, 'kubeconfig'),
    context: flagString(args, 'context'),
    env,
    script: process.argv[1],
  });
  let ca = settings.caPem;
  if (!ca && settings.caFile) {
    try {
      ca = readFileSync(settings.caFile, 'utf8');
    } catch (e) {
      throw new Error(errnoCode(e) === 'ENOENT' ? `CA file ${settings.caFile} not found` : `CA file ${settings.caFile} cannot be read: ${errorMessage(e)}`);
    }
  }
  const client = new RelayClient({ server: settings.server, token: settings.token, ...(ca ? { fetchImpl: tlsFetch({ ca }) } : {}) });
  const output = flagString(args, 'output', 'o');
  switch (cmd) {
    case 'token':
      return token(client, io, rest, flagString(args, 'ttl'));
    case 'twin':
      return twin(client, io, rest, { namespace: flagString(args, 'namespace', 'n') ?? settings.namespace, output });
    default:
      return telemetry(client, io, rest, { limit: flagString(args, 'limit'), output });
  }
}

export const processIo: Io = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
  now: () => new Date(),
};

export async function cli(argv: readonly string[]): Promise<void> {
  await runCli(() => main(argv, processIo), { prefix: 'error: ', describe: describeError, isUsage: (e) => e instanceof CtlUsage });
}
