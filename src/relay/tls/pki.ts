/**
 * The relay's trust material, as K3s does it: on first start the relay makes its own CA
 * (10 years) and a serving certificate signed by it (1 year) under dataDir/pki (keys 0600), or
 * uses configured files (a CA to issue from, or a finished serving certificate + its CA). The
 * same CA issues the MQTT broker's certificate, so nodes trust one CA for the API and the broker.
 *
 * At every start (and the relay's daily check) an issued certificate is re-issued when it is missing, unreadable, not signed by
 * the current CA, does not match its key, lacks one of the wanted names, or expires within
 * `api.tls.renewBeforeDays`. The CA itself is never replaced automatically: nodes pin it.
 *
 * `planIssued` and `caAction` decide (pure); `openPki` executes (files, key generation).
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { caHashOf, singleCertificate } from '../../contract/join.js';
import { ConfigError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { RelayConfig } from '../config.js';
import { wantedSans } from './sans.js';
import type { PemPair } from './x509.js';

export const CA_DAYS = 3650;
export const SERVING_DAYS = 365;
const DAY = 86_400_000;

export interface IssuedFacts {
  notAfter: Date;
  issuedByCa: boolean;
  keyMatches: boolean;
  missingSans: string[];
}

/** Why an issued certificate must be made anew, or undefined to keep it. */
export function planIssued(facts: IssuedFacts | undefined, now: Date, renewBeforeDays: number): string | undefined {
  if (!facts) return 'missing or unreadable';
  if (!facts.issuedByCa) return 'not signed by the current CA';
  if (!facts.keyMatches) return 'does not match its key';
  if (facts.missingSans.length) return `lacks ${facts.missingSans.join(', ')}`;
  const left = (facts.notAfter.getTime() - now.getTime()) / DAY;
  if (left < renewBeforeDays) return left <= 0 ? 'expired' : `expires in ${Math.floor(left)} days`;
  return undefined;
}

/** What to do with the generated CA's two files. */
export function caAction(hasCert: boolean, hasKey: boolean): 'create' | 'use' | 'refuse' {
  if (hasCert && hasKey) return 'use';
  if (!hasCert && !hasKey) return 'create';
  return 'refuse'; // never replace half a CA: nodes pinned it
}

/** Facts about an issued certificate (node:crypto reads X.509), or undefined when unreadable. */
export function inspectIssued(pair: PemPair | undefined, caPem: string, sans: readonly string[]): IssuedFacts | undefined {
  if (!pair) return undefined;
  try {
    const c = new X509Certificate(pair.certPem);
    const ca = new X509Certificate(caPem);
    return {
      notAfter: new Date(c.validTo),
      issuedByCa: c.checkIssued(ca) && c.verify(ca.publicKey),
      keyMatches: c.checkPrivateKey(createPrivateKey(pair.keyPem)),
      missingSans: sans.filter((s) => (isIP(s) ? !c.checkIP(s) : !c.checkHost(s, { wildcards: false }))),
    };
  } catch {
    return undefined;
  }
}

export interface RelayPki {
  caPem: string;
  caHash: string;
  /** the API's (and, unless broker.tls.cert is set, the embedded broker's) certificate */
  serving: PemPair;
  sans: string[];
  /** A certificate from the relay's CA at these paths for another listener (mosquitto), kept while valid. */
  ensureIssued(paths: { cert: string; key: string }, sans: readonly string[]): Promise<PemPair>;
}

export interface PkiEnv {
  now: Date;
  log: Logger;
  hostname?: string;
  interfaces?: ReturnType<typeof networkInterfaces>;
}

function readPair(cert: string, key: string): PemPair | undefined {
  if (!existsSync(cert) || !existsSync(key)) return undefined;
  return { certPem: readFileSync(cert, 'utf8'), keyPem: readFileSync(key, 'utf8') };
}

function writeAtomic(file: string, text: string, mode: number): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, file);
}

function writePair(paths: { cert: string; key: string }, p: PemPair): void {
  writeAtomic(paths.key, p.keyPem, 0o600);
  writeAtomic(paths.cert, p.certPem, 0o644);
}

function readConfigured(path: string, field: string, file?: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError([{ path: field, reason: `cannot read ${path}: ${errorMessage(e)}` }], file);
  }
}

/** Whether any listener needs certificates. */
export function wantsTls(c: RelayConfig): boolean {
  return c.api.tls.enabled || (c.broker.mode === 'embedded' && c.broker.tls.enabled) || !!c.broker.external.certFile;
}

export function pkiDir(c: RelayConfig): string {
  return join(c.dataDir, 'pki');
}

export async function openPki(c: RelayConfig, env: PkiEnv, configFile?: string): Promise<RelayPki> {
  const t = c.api.tls;
  const dir = pkiDir(c);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const sans = wantedSans({
    hostname: env.hostname ?? hostname(),
    interfaces: env.interfaces ?? networkInterfaces(),
    apiHost: c.api.host,
    urls: [c.api.publicUrl, c.broker.publicUrl],
    extra: t.sans,
  });
  const lib = (): Promise<typeof import('./x509.js')> => import('./x509.js');

  // the CA: configured, or the relay's own
  let ca: { certPem: string; keyPem?: string };
  if (t.caCert) {
    const certPem = singleCertificate(readConfigured(t.caCert, 'api.tls.caCert', configFile));
    if (!certPem) throw new ConfigError([{ path: 'api.tls.caCert', reason: `${t.caCert} must hold exactly one PEM certificate` }], configFile);
    ca = { certPem, ...(t.caKey ? { keyPem: readConfigured(t.caKey, 'api.tls.caKey', configFile) } : {}) };
  } else {
    const paths = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
    const action = caAction(existsSync(paths.cert), existsSync(paths.key));
    if (action === 'refuse') throw new ConfigError([{ path: 'dataDir', reason: `${dir} holds only half of the CA (ca.crt and ca.key go together); restore the missing file — a new CA would lock out every node that pinned this one` }], configFile);
    if (action === 'create') {
      const made = await (await lib()).createCa({ commonName: `edgerelay-ca@${Math.floor(env.now.getTime() / 1000)}`, days: CA_DAYS, now: env.now });
      writePair(paths, made);
      env.log.info('created the relay CA', { cert: paths.cert, caHash: caHashOf(made.certPem) });
    }
    ca = readPair(paths.cert, paths.key)!;
  }
  const caX = new X509Certificate(ca.certPem);
  const caLeft = (new Date(caX.validTo).getTime() - env.now.getTime()) / DAY;
  if (caLeft < t.renewBeforeDays) env.log.warn('the relay CA expires soon; it is not renewed automatically (nodes pin it): see docs/relay.md', { validTo: caX.validTo });

  const ensureIssued = async (paths: { cert: string; key: string }, names: readonly string[]): Promise<PemPair> => {
    const current = readPair(paths.cert, paths.key);
    const why = planIssued(inspectIssued(current, ca.certPem, names), env.now, t.renewBeforeDays);
    if (!why) return current!;
    if (!ca.keyPem) throw new ConfigError([{ path: 'api.tls.caKey', reason: `needed to issue ${paths.cert} (${why})` }], configFile);
    const made = await (await lib()).issueServing({ certPem: ca.certPem, keyPem: ca.keyPem }, { commonName: 'edgerelay', sans: names, days: SERVING_DAYS, now: env.now });
    writePair(paths, made);
    env.log.info('issued a certificate from the relay CA', { cert: paths.cert, reason: why, sans: names });
    return made;
  };

  let serving: PemPair;
  if (t.cert) {
    serving = { certPem: readConfigured(t.cert, 'api.tls.cert', configFile), keyPem: readConfigured(t.key, 'api.tls.key', configFile) };
    // only the names asked for explicitly: a certificate made elsewhere need not carry this machine's
    const why = planIssued(inspectIssued(serving, ca.certPem, t.sans), env.now, t.renewBeforeDays);
    if (why) env.log.warn('the configured serving certificate needs attention (the relay does not replace configured files)', { cert: t.cert, reason: why });
  } else {
    serving = await ensureIssued({ cert: join(dir, 'server.crt'), key: join(dir, 'server.key') }, sans);
  }
  return { caPem: ca.certPem, caHash: caHashOf(ca.certPem), serving, sans, ensureIssued };
}
