/**
 * The `edgectl` command: only what kubectl cannot do (objects, nodes, logs and events are
 * kubectl's — the relay serves the Kubernetes API). Unknown flags are refused.
 */
import { readFileSync } from 'node:fs';
import { RelayClient } from '../../ctl/client.js';
import { describeError, telemetry, token, twin, UsageError as CtlUsage, type Io } from '../../ctl/commands.js';
import { resolveSettings } from '../../ctl/settings.js';
import { errnoCode, errorMessage } from '../../core/errors.js';
import { tlsFetch } from '../../lib/tls-fetch.js';
import { VERSION } from '../../version.js';
import { EXIT, flagString, parseArgs, runCli, UsageError } from '../args.js';

const HELP = `edgectl ${VERSION} — what kubectl cannot do for an edgecore fleet

Usage:
  edgectl token create [--ttl SECONDS]                 a bootstrap token: prints the whole \`edgecore join\` command
  edgectl twin get DEVICE [-n NS] [-o json|yaml]       desired and reported twin values
  edgectl twin set DEVICE PROP=VALUE... [-n NS]        set desired values (spec.properties[].desired)
  edgectl telemetry [NODE] [--limit N] [-o json|yaml]  device samples the relay kept
  edgectl --version | --help

Everything else is kubectl against the relay: kubectl get nodes|pods|devices, apply -f,
describe, logs, delete... (edgerelay kubeconfig prints a kubeconfig; see docs/api.md).

Connection: --server URL --token T --ca-file F, else EDGECTL_SERVER / EDGECTL_TOKEN / EDGECTL_CA_FILE,
else the config file (--config FILE, EDGECTL_CONFIG, ./.edgecore/edgectl.yaml or the one in the checkout
this edgectl runs from, or ~/.edgectl/config.yaml), with "server:", "token:" and "caFile:" (the relay's CA,
dataDir/pki/ca.crt on the relay).
Errors go to stderr; the exit code is non-zero on any failure (2 for usage errors).`;

const COMMON = ['server', 's', 'token', 'config', 'ca-file'];
/** the flags each command takes (anything else is refused), the valued ones first */
const FLAGS: Record<string, { valued: string[]; bare: string[] }> = {
  token: { valued: [...COMMON, 'ttl'], bare: [] },
  twin: { valued: [...COMMON, 'n', 'namespace', 'o', 'output'], bare: [] },
  telemetry: { valued: [...COMMON, 'limit', 'o', 'output'], bare: [] },
};

export async function main(argv: readonly string[], io: Io, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const all = new Set(Object.values(FLAGS).flatMap((f) => f.valued));
  const args = parseArgs(argv, all);
  const [cmd, ...rest] = args.positionals;
  if (args.flags.has('version') || cmd === 'version') {
    io.out(`${VERSION}\n`);
    return EXIT.OK;
  }
  if (args.flags.has('help') || args.flags.has('h') || !cmd || cmd === 'help') {
    io.out(HELP + '\n');
    return cmd || args.flags.has('help') || args.flags.has('h') ? EXIT.OK : EXIT.USAGE;
  }
  const allowed = FLAGS[cmd];
  if (!allowed) {
    const kubectl = ['apply', 'get', 'describe', 'delete', 'logs', 'edit', 'patch', 'label'].includes(cmd) ? ` (use kubectl ${cmd})` : '';
    throw new UsageError(`unknown command "${cmd}"${kubectl}; see edgectl --help`);
  }
  for (const f of args.flags.keys()) {
    if (!allowed.valued.includes(f) && !allowed.bare.includes(f)) throw new UsageError(`unknown flag ${f.length === 1 ? '-' : '--'}${f} for "edgectl ${cmd}"`);
  }
  const settings = resolveSettings({ server: flagString(args, 'server', 's'), token: flagString(args, 'token'), caFile: flagString(args, 'ca-file'), configFile: flagString(args, 'config'), env, script: process.argv[1] });
  let ca: string | undefined;
  if (settings.caFile) {
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
      return twin(client, io, rest, { namespace: flagString(args, 'namespace', 'n'), output });
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
