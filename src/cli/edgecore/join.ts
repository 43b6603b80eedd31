/**
 * `edgecore join`: trade a bootstrap token for this node's own broker credentials and write them
 * into the node's config file (created if absent, 0600; other settings are kept).
 *
 * The relay is trusted the kubeadm way before anything is sent to it: its CA is fetched from
 * GET /edge/v1/ca over TLS without verification and must hash to `--ca-hash` (or is read from
 * `--ca-file`); from then on every connection verifies the relay against that CA, host name
 * included. The CA is written beside the config (`<config name>.relay-ca.crt`) and becomes
 * `modules.edgehub.relay.caFile`, so the MQTT connection (mqtts://) trusts the same CA.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { parseDocument } from 'yaml';
import type { JoinResponse } from '../../contract/api.js';
import { wireErrorSchema } from '../../contract/errors.js';
import { caHashOf, EDGE_PATHS, parseCaHash, singleCertificate } from '../../contract/join.js';
import type { Status } from '../../contract/kube/types.js';
import { parseConfig } from '../../config/load.js';
import { tlsFetch } from '../../lib/tls-fetch.js';

export interface JoinOptions {
  relay: string;
  token: string;
  node: string;
  configFile: string;
  dataDir?: string;
  /** `sha256:<hex>` of the relay CA's SubjectPublicKeyInfo */
  caHash?: string;
  /** a PEM file holding the relay's CA */
  caFile?: string;
  /** allow an http:// relay (its plain-HTTP debug mode): no CA, the token crosses in clear */
  insecureHttp?: boolean;
}

export class JoinError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JoinError';
  }
}

function reach(relay: string, e: unknown): JoinError {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? '';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return new JoinError(`the relay's certificate does not name the host in ${relay}: use a name or address it carries (the relay adds api.tls.sans and its own names)`);
  if (/CERT|SIGNATURE|SELF_SIGNED/.test(code)) return new JoinError(`the relay at ${relay} is not vouched for by the pinned CA (${code}): nothing was sent`);
  return new JoinError(`cannot reach the relay at ${relay}: ${cause ? (cause.code ?? cause.message) : (e as Error).message}`);
}

/** The relay's CA, checked against the pin (or read from a file), before the token goes anywhere. */
export async function relayCa(o: Pick<JoinOptions, 'relay' | 'caHash' | 'caFile'>): Promise<string> {
  const want = o.caHash === undefined ? undefined : parseCaHash(o.caHash);
  if (o.caHash !== undefined && !want) throw new JoinError(`--ca-hash must be sha256: followed by 64 hex digits (as \`edgerelay token\` prints it), got "${o.caHash}"`);
  let pem: string | undefined;
  if (o.caFile) {
    let text: string;
    try {
      text = readFileSync(o.caFile, 'utf8');
    } catch (e) {
      throw new JoinError(`--ca-file ${o.caFile}: ${(e as Error).message}`);
    }
    pem = singleCertificate(text);
    if (!pem) throw new JoinError(`--ca-file ${o.caFile}: must hold exactly one PEM certificate`);
  } else {
    if (!want) throw new JoinError('join needs --ca-hash sha256:… (printed by `edgerelay token`) or --ca-file FILE: the relay must be verified before the token is sent');
    let res: Response;
    try {
      res = await tlsFetch({ insecureSkipVerify: true })(new URL(EDGE_PATHS.ca, o.relay));
    } catch (e) {
      throw reach(o.relay, e);
    }
    const text = await res.text();
    pem = res.ok ? singleCertificate(text) : undefined;
    if (!pem) throw new JoinError(`the relay at ${o.relay} offered no CA certificate (${res.status} on ${EDGE_PATHS.ca}): nothing was sent`);
  }
  const got = caHashOf(pem);
  if (want && got !== want) throw new JoinError(`the relay's CA does not match --ca-hash: it offered ${got}, expected ${want}; nothing was sent to it`);
  return pem;
}

function refusal(status: number, text: string): JoinError {
  let msg = text;
  try {
    // the edge bootstrap routes answer a Kubernetes Status; the relay's other routes a wire error
    const b = JSON.parse(text) as Partial<Status> & { error?: unknown };
    const wire = wireErrorSchema.safeParse(b.error);
    const causes = wire.success ? wire.data.issues?.map((i) => `${i.path}: ${i.reason}`) : b.details?.causes?.map((c) => `${c.field}: ${c.message}`);
    msg = (wire.success ? wire.data.message : b.message) ?? text;
    const all = causes?.join('; ');
    if (all && !msg.includes(all)) msg += ` (${all})`;
  } catch {
    /* not JSON */
  }
  return new JoinError(`join refused (${status}): ${msg}`);
}

export async function joinRelay(o: JoinOptions): Promise<JoinResponse & { caFile?: string }> {
  let url: URL;
  try {
    url = new URL(o.relay);
  } catch {
    throw new JoinError(`--relay must be a URL such as https://relay:8080, got "${o.relay}"`);
  }
  if (url.protocol === 'http:' && !o.insecureHttp) {
    throw new JoinError(`${o.relay} is plain HTTP: the token and the node's password would cross the network in clear. Use https:// (the default relay), or --insecure-http for a relay in its plain-HTTP debug mode`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new JoinError(`--relay must be an https:// URL, got "${o.relay}"`);
  // over http:// (debug mode) a --ca-file still serves the broker's TLS, if the relay runs it
  const caPem = url.protocol === 'https:' || o.caFile ? await relayCa(o) : undefined;
  let res: Response;
  try {
    res = await tlsFetch(caPem ? { ca: caPem } : {})(new URL(EDGE_PATHS.join, url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: o.token, node: o.node }),
    });
  } catch (e) {
    throw reach(o.relay, e);
  }
  const text = await res.text();
  if (!res.ok) throw refusal(res.status, text);
  const j = JSON.parse(text) as JoinResponse;
  const caFile = writeJoinedConfig(o.configFile, j, { ...(o.dataDir ? { dataDir: o.dataDir } : {}), ...(caPem ? { caPem } : {}) });
  return { ...j, ...(caFile ? { caFile } : {}) };
}

/** Where the relay's CA goes: beside the config, named after it. */
export function caFileFor(configFile: string): string {
  return join(dirname(configFile), `${basename(configFile, extname(configFile))}.relay-ca.crt`);
}

/** Set node.name and the edgehub section in the config file, keeping everything else; returns the CA file written, if any. */
export function writeJoinedConfig(file: string, j: JoinResponse, o: { dataDir?: string; caPem?: string } = {}): string | undefined {
  const doc = existsSync(file) ? parseDocument(readFileSync(file, 'utf8')) : parseDocument('{}');
  if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0]!.message}`);
  const caFile = o.caPem ? caFileFor(file) : undefined;
  doc.setIn(['node', 'name'], j.node);
  if (o.dataDir) doc.setIn(['dataDir'], o.dataDir);
  doc.setIn(['modules', 'edgehub', 'enabled'], true);
  doc.setIn(['modules', 'edgehub', 'relay', 'url'], j.brokerUrl);
  if (j.brokerUrls?.length) doc.setIn(['modules', 'edgehub', 'relay', 'urls'], j.brokerUrls);
  else doc.deleteIn(['modules', 'edgehub', 'relay', 'urls']);
  doc.setIn(['modules', 'edgehub', 'relay', 'username'], j.username);
  doc.setIn(['modules', 'edgehub', 'relay', 'password'], j.password);
  doc.setIn(['modules', 'edgehub', 'relay', 'caFile'], caFile ?? '');
  parseConfig(doc.toJS(), file); // refuse to write a config the daemon would refuse
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  if (caFile) writeFileSync(caFile, o.caPem!, { mode: 0o644 });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, doc.toString(), { mode: 0o600 });
  renameSync(tmp, file);
  return caFile;
}
