/** The `edgerelay` command: the cloud side (embedded MQTT broker or external one, SQLite state, HTTPS API). */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { errorMessage } from '../../core/errors.js';
import { createLogger, nullLogger } from '../../core/logger.js';
import { allowRejoin, issueBootstrapToken, joinCommandFor, kubeconfigFor, localApiUrl, rotateNode } from '../../relay/admin.js';
import { loadRelayConfigFile, parseRelayConfig, type RelayConfig } from '../../relay/config.js';
import { writeMosquittoCert, writeMosquittoFiles } from '../../relay/mosquitto-files.js';
import { startRelay } from '../../relay/relay.js';
import type { CredentialStore } from '../../relay/store/credentials.js';
import { openCredentialStore } from '../../relay/store/open.js';
import { SqliteRelayStore } from '../../relay/store/sqlite.js';
import { openPki, wantsTls, type RelayPki } from '../../relay/tls/pki.js';
import { ApiTokens } from '../../relay/tokens.js';
import { VERSION } from '../../version.js';
import { EXIT, flagString, parseArgs, runCli, UsageError, versionOrHelp } from '../args.js';
import { systemdNotifier } from '../../lib/notify.js';
import { trapStopSignals } from '../../lib/signals.js';

const HELP = `edgerelay ${VERSION} — the minimal cloud side of edgecore

Usage:
  edgerelay run [--config FILE] [--data-dir DIR] [--api-port N] [--mqtts-port N] [--ws-port N] [--mqtt-port N]
                                     run the relay (HTTPS API; embedded MQTT broker over TLS unless broker.mode: external)
  edgerelay token [--ttl SECONDS] [--server URL]
                                     create a bootstrap token; prints the whole \`edgecore join\` command (with --ca-hash)
  edgerelay kubeconfig [--read-only] [--server URL]
                                     print a kubeconfig (CA, server URL, admin or read-only token) for kubectl
  edgerelay admin-token | read-only-token      print that API token
  edgerelay rotate admin-token | read-only-token
                                     replace a generated API token: the old one is refused at once
  edgerelay rotate node NAME         revoke a node's MQTT credentials (its session is closed) and allow its re-join
  edgerelay node allow-rejoin NAME [--ttl SECONDS]
                                     let an existing node name join again once (a bootstrap token alone cannot)
  edgerelay mosquitto-files          (re)write broker.external.passwordFile, aclFile, confFile, certFile/keyFile
  edgerelay config --defaults        print the complete default config
  edgerelay --version | --help

Every command takes --config FILE (and --data-dir DIR). Without --config, /etc/edgerelay/edgerelay.yaml
is read when it exists, else the defaults apply.`;

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
  const mqtts = num('mqtts-port');
  if (mqtts !== undefined) cfg.broker.tls.port = mqtts;
  const ws = num('ws-port');
  if (ws !== undefined) cfg.broker.ws.port = ws;
  return cfg;
}

/** The node credentials and tokens the config names (relay.db, or the fleet's PostgreSQL), for one command. */
async function withStore<T>(cfg: RelayConfig, fn: (store: CredentialStore) => Promise<T>): Promise<T> {
  const local = SqliteRelayStore.open(join(cfg.dataDir, 'relay.db'));
  try {
    const creds = await openCredentialStore(cfg, local, nullLogger());
    try {
      return await fn(creds);
    } finally {
      await creds.close();
    }
  } finally {
    local.close();
  }
}

/** The CA (made on first use, as `run` would) when any listener runs TLS. */
async function pkiOf(cfg: RelayConfig): Promise<RelayPki | undefined> {
  return wantsTls(cfg) ? openPki(cfg, { now: new Date(), log: nullLogger() }) : undefined;
}

function ttlFlag(args: ReturnType<typeof parseArgs>, fallback: number): number {
  const ttl = Number(flagString(args, 'ttl') ?? fallback);
  if (!Number.isInteger(ttl) || ttl < 1) throw new UsageError('--ttl must be a positive integer (seconds)');
  return ttl;
}

async function run(args: ReturnType<typeof parseArgs>): Promise<number> {
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

export async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, new Set(['config', 'c', 'data-dir', 'api-port', 'mqtt-port', 'mqtts-port', 'ws-port', 'ttl', 'server']));
  const [cmd, sub, name] = args.positionals;
  const early = versionOrHelp(args, VERSION, HELP);
  if (early !== undefined) return early;
  const out = (s: string): void => void process.stdout.write(s);
  switch (cmd) {
    case 'config':
      if (!args.flags.has('defaults')) throw new UsageError('config needs --defaults');
      out(`# edgerelay configuration — every key with its default. Unknown keys are refused.\n${stringify(parseRelayConfig({}))}`);
      return EXIT.OK;
    case 'run':
      return run(args);
    case 'token': {
      const cfg = loadConfig(args);
      const ttl = ttlFlag(args, cfg.nodes.tokenTtlSeconds);
      const pki = cfg.api.tls.enabled ? await pkiOf(cfg) : undefined;
      const t = await withStore(cfg, (store) => issueBootstrapToken(store, ttl, new Date()));
      out(`${joinCommandFor(cfg, t.token, pki?.caHash, flagString(args, 'server'))}\n`);
      return EXIT.OK;
    }
    case 'admin-token':
    case 'read-only-token':
      out(`${ApiTokens.open(loadConfig(args)).token(cmd === 'admin-token' ? 'admin' : 'read-only')}\n`);
      return EXIT.OK;
    case 'kubeconfig': {
      const cfg = loadConfig(args);
      const user = args.flags.has('read-only') ? 'read-only' : 'admin';
      const pki = cfg.api.tls.enabled ? await pkiOf(cfg) : undefined;
      out(kubeconfigFor({ server: flagString(args, 'server') ?? localApiUrl(cfg), caPem: pki?.caPem, token: ApiTokens.open(cfg).token(user), user }));
      return EXIT.OK;
    }
    case 'rotate': {
      const cfg = loadConfig(args);
      if (sub === 'admin-token' || sub === 'read-only-token') {
        ApiTokens.open(cfg); // the other token exists too
        ApiTokens.rotate(cfg, sub === 'admin-token' ? 'admin' : 'read-only');
        out(`${sub} rotated: the old token is refused from now on; kubeconfigs that carry it need \`edgerelay kubeconfig\` again\n`);
        return EXIT.OK;
      }
      if (sub === 'node' && name) {
        const until = await withStore(cfg, async (store) => {
          const u = await rotateNode(store, name, cfg.nodes.rejoinWindowSeconds, new Date());
          if (cfg.broker.mode === 'external') await writeMosquittoFiles(cfg, store);
          return u;
        });
        out(
          `node "${name}": MQTT credentials revoked (a running relay closes its session within seconds${cfg.broker.mode === 'external' ? '; reload mosquitto: kill -HUP' : ''}).\n` +
            `Re-join it before ${until.toISOString()}: on the node, \`edgecore join\` with a fresh \`edgerelay token\` command.\n`,
        );
        return EXIT.OK;
      }
      throw new UsageError('rotate needs admin-token, read-only-token or node NAME');
    }
    case 'node': {
      if (sub !== 'allow-rejoin' || !name) throw new UsageError('usage: edgerelay node allow-rejoin NAME [--ttl SECONDS]');
      const cfg = loadConfig(args);
      const until = await withStore(cfg, (store) => allowRejoin(store, name, ttlFlag(args, cfg.nodes.rejoinWindowSeconds), new Date()));
      out(`node "${name}" may join again (once) until ${until.toISOString()}\n`);
      return EXIT.OK;
    }
    case 'mosquitto-files': {
      const cfg = loadConfig(args);
      const ext = cfg.broker.external;
      if (!ext.passwordFile && !ext.aclFile && !ext.certFile && !ext.confFile) throw new UsageError('set broker.external.passwordFile, aclFile, confFile (and certFile/keyFile for TLS) in the config');
      await withStore(cfg, (store) => writeMosquittoFiles(cfg, store));
      const certs = await writeMosquittoCert(cfg, await pkiOf(cfg));
      out(`wrote ${[ext.passwordFile, ext.aclFile, ext.confFile, ...(certs ? [ext.certFile, ext.keyFile] : [])].filter(Boolean).join(', ')}\n`);
      return EXIT.OK;
    }
    default:
      throw new UsageError(`unknown command "${cmd}" (see edgerelay --help)`);
  }
}

export async function cli(argv: readonly string[]): Promise<void> {
  await runCli(() => main(argv), { prefix: 'edgerelay: ' });
}
