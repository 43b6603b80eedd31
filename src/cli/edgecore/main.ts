/** The `edgecore` command: the node daemon and its tools. */
import { loadConfigFile, defaultConfigYaml, parseConfig } from '../../config/load.js';
import type { EdgecoreConfig } from '../../config/schema.js';
import { errorMessage } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { systemdNotifier } from '../../lib/notify.js';
import { runChecks } from '../../node/check.js';
import { runNode } from '../../node/daemon.js';
import { joinRelay } from './join.js';
import { VERSION } from '../../version.js';
import { EXIT, flagString, parseArgs, runCli, UsageError, versionOrHelp } from '../args.js';

const HELP = `edgecore ${VERSION} — edge node daemon

Usage:
  edgecore run [--config FILE]       run the node (modules per config); SIGTERM/SIGINT stop it
  edgecore check [--config FILE]     diagnose data dir, Docker, GPIO/I2C/serial, brokers
  edgecore config --defaults         print the complete default config
  edgecore config --validate FILE    validate a config file
  edgecore join --relay https://HOST:PORT --token T --ca-hash sha256:HEX [--name NODE] [--config FILE] [--data-dir DIR]
                                     join a relay: check its CA against the pin (or --ca-file FILE), get this
                                     node's credentials, write them and the CA beside the config
                                     (\`edgerelay token\` prints the whole command; --insecure-http only for a
                                     relay in plain-HTTP debug mode)
  edgecore --version | --help

Exit codes: 0 ok, 1 failure, 2 usage error, 78 invalid config.
Without --config, /etc/edgecore/edgecore.yaml is read when it exists, else the defaults apply.`;

const DEFAULT_CONFIG = '/etc/edgecore/edgecore.yaml';

async function loadConfig(file: string | undefined): Promise<EdgecoreConfig> {
  if (file) return loadConfigFile(file);
  const { existsSync } = await import('node:fs');
  return existsSync(DEFAULT_CONFIG) ? loadConfigFile(DEFAULT_CONFIG) : parseConfig({});
}

export async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, new Set(['config', 'c', 'validate', 'relay', 'token', 'name', 'data-dir', 'ca-hash', 'ca-file']));
  const [cmd] = args.positionals;
  const early = versionOrHelp(args, VERSION, HELP);
  if (early !== undefined) return early;
  const configFile = flagString(args, 'config', 'c');
  switch (cmd) {
    case 'config': {
      if (args.flags.has('defaults')) {
        process.stdout.write(defaultConfigYaml());
        return EXIT.OK;
      }
      const file = flagString(args, 'validate');
      if (file) {
        loadConfigFile(file);
        process.stdout.write(`${file}: valid\n`);
        return EXIT.OK;
      }
      throw new UsageError('config needs --defaults or --validate FILE');
    }
    case 'run': {
      const config = await loadConfig(configFile);
      const log = createLogger({ level: config.log.level, format: config.log.format });
      process.on('unhandledRejection', (e) => log.error('unhandled rejection', { error: errorMessage(e) }));
      return runNode({ config, log, version: VERSION, notifier: systemdNotifier() });
    }
    case 'check': {
      const config = await loadConfig(configFile);
      const results = await runChecks(config);
      let failed = false;
      for (const r of results) {
        const tag = r.ok ? 'OK  ' : r.optional ? 'WARN' : 'FAIL';
        process.stdout.write(`${tag} ${r.name.padEnd(16)} ${r.detail}${!r.ok && r.fix ? `\n     fix: ${r.fix}` : ''}\n`);
        if (!r.ok && !r.optional) failed = true;
      }
      return failed ? EXIT.FAILURE : EXIT.OK;
    }
    case 'join': {
      const relay = flagString(args, 'relay');
      const token = flagString(args, 'token');
      if (!relay || !token) throw new UsageError('join needs --relay URL and --token T');
      const file = configFile ?? DEFAULT_CONFIG;
      const { existsSync } = await import('node:fs');
      const current = configFile && !existsSync(configFile) ? parseConfig({}) : await loadConfig(configFile);
      const j = await joinRelay({
        relay,
        token,
        node: flagString(args, 'name') ?? current.node.name,
        configFile: file,
        dataDir: flagString(args, 'data-dir'),
        caHash: flagString(args, 'ca-hash'),
        caFile: flagString(args, 'ca-file'),
        insecureHttp: args.flags.has('insecure-http'),
      });
      process.stdout.write(
        `joined as node "${j.node}" (broker ${j.brokerUrl}); credentials written to ${file}${j.caFile ? `, the relay's CA to ${j.caFile}` : ''}\nstart the node: edgecore run --config ${file}\n`,
      );
      return EXIT.OK;
    }
    default:
      throw new UsageError(`unknown command "${cmd}" (see edgecore --help)`);
  }
}

export async function cli(argv: readonly string[]): Promise<void> {
  await runCli(() => main(argv), { prefix: 'edgecore: ' });
}
