/** The `edgectl` command (kubectl conventions); talks only to the relay's HTTP API. */
import { readFileSync } from 'node:fs';
import { RelayClient } from '../../ctl/client.js';
import { apply, deleteCmd, describe, describeError, get, logs, token, twin, UsageError as CtlUsage, type Io } from '../../ctl/commands.js';
import { resolveSettings } from '../../ctl/settings.js';
import { errnoCode, errorMessage } from '../../core/errors.js';
import { tlsFetch } from '../../lib/tls-fetch.js';
import { VERSION } from '../../version.js';
import { EXIT, flagString, parseArgs, runCli, UsageError } from '../args.js';

const HELP = `edgectl ${VERSION} — manage an edgecore fleet through its relay

Usage:
  edgectl apply -f FILE|DIR|- [-f ...] [-n NS] [--node NODE]
  edgectl get nodes|pods|devices|devicemodels|configmaps|secrets [NAME] [-o wide|yaml|json|name] [-n NS | -A] [--node NODE]
  edgectl describe KIND NAME [-n NS]
  edgectl delete -f FILE|DIR|-   |   edgectl delete KIND NAME... [-n NS]
  edgectl logs POD [-c CONTAINER] [-f] [--tail N] [-n NS]
  edgectl twin get DEVICE [-n NS]   |   edgectl twin set DEVICE PROP=VALUE... [-n NS]
  edgectl token create [--ttl SECONDS]      a bootstrap token: prints the whole \`edgecore join\` command
  edgectl --version | --help

Connection: --server URL --token T --ca-file F, else EDGECTL_SERVER / EDGECTL_TOKEN / EDGECTL_CA_FILE,
else the config file (--config FILE, EDGECTL_CONFIG, ./.edgecore/edgectl.yaml or the one in the checkout
this edgectl runs from, or ~/.edgectl/config.yaml), with "server:", "token:" and "caFile:" (the relay's CA,
dataDir/pki/ca.crt on the relay).
Errors go to stderr; the exit code is non-zero on any failure.`;

const VALUED = new Set(['f', 'filename', 'n', 'namespace', 'o', 'output', 'node', 'c', 'container', 'tail', 'server', 's', 'token', 'config', 'ttl', 'ca-file']);

/** Collect every `-f X` (parseArgs keeps only the last). */
function allValues(argv: readonly string[], names: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    for (const n of names) {
      const flag = n.length === 1 ? `-${n}` : `--${n}`;
      if (a === flag && argv[i + 1] !== undefined) out.push(argv[++i]!);
      else if (a.startsWith(flag + '=')) out.push(a.slice(flag.length + 1));
    }
  }
  return out;
}

export async function main(argvIn: readonly string[], io: Io, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  // `logs -f` means follow (elsewhere -f names a file)
  const argv = argvIn.includes('logs') ? argvIn.map((a) => (a === '-f' ? '--follow' : a)) : argvIn;
  const args = parseArgs(argv, VALUED);
  const [cmd, ...rest] = args.positionals;
  if (args.flags.has('version') || cmd === 'version') {
    io.out(`${VERSION}\n`);
    return EXIT.OK;
  }
  if (args.flags.has('help') || args.flags.has('h') || !cmd || cmd === 'help') {
    io.out(HELP + '\n');
    return cmd || args.flags.has('help') || args.flags.has('h') ? EXIT.OK : EXIT.USAGE;
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
  const common = {
    namespace: flagString(args, 'namespace', 'n'),
    allNamespaces: args.flags.has('A') || args.flags.has('all-namespaces'),
    output: flagString(args, 'output', 'o'),
    node: flagString(args, 'node'),
  };
  const files = allValues(argv, ['f', 'filename']);
  switch (cmd) {
    case 'apply':
      return apply(client, io, files, common);
    case 'get':
      return get(client, io, rest, common);
    case 'describe':
      return describe(client, io, rest, common);
    case 'delete':
      return deleteCmd(client, io, rest, files, common);
    case 'logs':
      return logs(client, io, rest, { ...common, container: flagString(args, 'container', 'c'), follow: args.flags.has('follow') || args.flags.has('f'), tail: flagString(args, 'tail') });
    case 'twin':
      return twin(client, io, rest, common);
    case 'token':
      return token(client, io, rest, flagString(args, 'ttl'));
    default:
      throw new UsageError(`unknown command "${cmd}" (see edgectl --help)`);
  }
}

export const processIo: Io = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
  stdin: () => readFileSync(0, 'utf8'),
  now: () => new Date(),
};

export async function cli(argv: readonly string[]): Promise<void> {
  await runCli(() => main(argv, processIo), { prefix: 'error: ', describe: describeError, isUsage: (e) => e instanceof CtlUsage });
}
