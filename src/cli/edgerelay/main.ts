/** The `edgerelay` command: the cloud side (embedded MQTT broker or external one, SQLite state, HTTP API). */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { errorMessage } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { sha256 } from '../../relay/auth.js';
import { loadRelayConfigFile, parseRelayConfig, type RelayConfig } from '../../relay/config.js';
import { adminTokenFor, startRelay, writeMosquittoFiles } from '../../relay/relay.js';
import { SqliteRelayStore } from '../../relay/store/sqlite.js';
import { newSecret } from '../../relay/auth.js';
import { VERSION } from '../../version.js';
import { EXIT, flagString, parseArgs, runCli, UsageError, versionOrHelp } from '../args.js';
import { systemdNotifier } from '../../lib/notify.js';
import { trapStopSignals } from '../../lib/signals.js';

const HELP = `edgerelay ${VERSION} — the minimal cloud side of edgecore

Usage:
  edgerelay run [--config FILE] [--data-dir DIR] [--api-port N] [--mqtt-port N] [--ws-port N]
                                     run the relay (embedded MQTT broker unless broker.mode: external)
  edgerelay token [--ttl SECONDS] [--config FILE]
                                     create a bootstrap token for \`edgecore join\` (store opened directly)
  edgerelay admin-token [--config FILE]   print the admin token edgectl needs
  edgerelay mosquitto-files [--config FILE]   (re)write broker.external.passwordFile and aclFile
  edgerelay config --defaults        print the complete default config
  edgerelay --version | --help

Without --config, /etc/edgerelay/edgerelay.yaml is read when it exists, else the defaults apply.`;

const DEFAULT_CONFIG = '/etc/edgerelay/edgerelay.yaml';

function loadConfig(args: ReturnType<typeof parseArgs>): RelayConfig {
  const file = flagString(args, 'config', 'c');
  const cfg = file ? loadRelayConfigFile(file) : existsSync(DEFAULT_CONFIG) ? loadRelayConfigFile(DEFAULT_CONFIG) : parseRelayConfig({});
  const dataDir = flagString(args, 'data-dir');
  if (dataDir) cfg.dataDir = dataDir;
  const num = (name: string): number | undefined => {
    const v = flagString(args, name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--${name} must be a port number`);
    return n;
  };
  const api = num('api-port');
  if (api !== undefined) cfg.api.port = api;
  const mqtt = num('mqtt-port');
  if (mqtt !== undefined) cfg.broker.port = mqtt;
  const ws = num('ws-port');
  if (ws !== undefined) cfg.broker.ws.port = ws;
  return cfg;
}

export async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, new Set(['config', 'c', 'data-dir', 'api-port', 'mqtt-port', 'ws-port', 'ttl']));
  const [cmd] = args.positionals;
  const early = versionOrHelp(args, VERSION, HELP);
  if (early !== undefined) return early;
  switch (cmd) {
    case 'config':
      if (!args.flags.has('defaults')) throw new UsageError('config needs --defaults');
      process.stdout.write(`# edgerelay configuration — every key with its default. Unknown keys are refused.\n${stringify(parseRelayConfig({}))}`);
      return EXIT.OK;
    case 'run': {
      const cfg = loadConfig(args);
      const log = createLogger({ level: cfg.log.level, format: cfg.log.format }, 'edgerelay');
      process.on('unhandledRejection', (e) => log.error('unhandled rejection', { error: errorMessage(e) }));
      const signals = trapStopSignals((sig) => {
        log.warn('second signal: exiting now', { signal: sig });
        process.exit(EXIT.FAILURE);
      });
      let relay: Awaited<ReturnType<typeof startRelay>>;
      try {
        relay = await startRelay(cfg, log);
      } catch (e) {
        signals.dispose();
        throw e;
      }
      // systemd (edgerelay.service, Type=notify): ready once the API and broker listen
      const notifier = systemdNotifier();
      await notifier.notify('READY=1\nSTATUS=running');
      const sig = await signals.first;
      log.info('signal received', { signal: sig });
      void notifier.notify('STOPPING=1');
      try {
        await relay.stop();
        return EXIT.OK;
      } catch (e) {
        log.error('stop failed', { error: errorMessage(e) });
        return EXIT.FAILURE;
      }
    }
    case 'token': {
      const cfg = loadConfig(args);
      const ttl = Number(flagString(args, 'ttl') ?? cfg.nodes.tokenTtlSeconds);
      if (!Number.isInteger(ttl) || ttl < 1) throw new UsageError('--ttl must be a positive integer (seconds)');
      const store = SqliteRelayStore.open(join(cfg.dataDir, 'relay.db'));
      try {
        const token = `ect.${newSecret(18)}`;
        const now = new Date();
        store.createToken(sha256(token), new Date(now.getTime() + ttl * 1000), now);
        process.stdout.write(`${token}\n`);
      } finally {
        store.close();
      }
      return EXIT.OK;
    }
    case 'admin-token': {
      process.stdout.write(`${adminTokenFor(loadConfig(args))}\n`);
      return EXIT.OK;
    }
    case 'mosquitto-files': {
      const cfg = loadConfig(args);
      if (!cfg.broker.external.passwordFile && !cfg.broker.external.aclFile) throw new UsageError('set broker.external.passwordFile and aclFile in the config');
      const store = SqliteRelayStore.open(join(cfg.dataDir, 'relay.db'));
      try {
        writeMosquittoFiles(cfg, store);
      } finally {
        store.close();
      }
      process.stdout.write(`wrote ${[cfg.broker.external.passwordFile, cfg.broker.external.aclFile].filter(Boolean).join(' and ')}\n`);
      return EXIT.OK;
    }
    default:
      throw new UsageError(`unknown command "${cmd}" (see edgerelay --help)`);
  }
}

export async function cli(argv: readonly string[]): Promise<void> {
  await runCli(() => main(argv), { prefix: 'edgerelay: ' });
}
