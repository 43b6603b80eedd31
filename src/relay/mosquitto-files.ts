/**
 * The external mosquitto's files, written from the relay's config and credential store (on start,
 * on joins and credential changes, and by `edgerelay mosquitto-files`): the password, ACL and
 * config files (formats in mosquitto.ts), and its listener certificate from the relay's CA.
 */
import { CONSUMER_PREFIX } from './appchan/topics.js';
import { hashPassword } from './auth.js';
import type { RelayConfig } from './config.js';
import { mosquittoAclFile, mosquittoConfFile, mosquittoPasswordFile, writePrivate } from './mosquitto.js';
import type { CredentialStore } from './store/credentials.js';
import type { RelayPki } from './tls/pki.js';

export async function writeMosquittoFiles(config: RelayConfig, store: CredentialStore): Promise<void> {
  const ext = config.broker.external;
  const consumers = config.appchannel.consumers.map((c) => ({ username: `${CONSUMER_PREFIX}${c.name}`, password: c.password, namespaces: c.namespaces }));
  const accounts = [...(await store.listNodes()).map((n) => ({ username: n.name, passwordHash: n.passwordHash })), ...consumers.map((c) => ({ username: c.username, passwordHash: hashPassword(c.password) }))];
  if (ext.passwordFile) writePrivate(ext.passwordFile, mosquittoPasswordFile({ username: ext.username, passwordHash: hashPassword(ext.password) }, accounts));
  if (ext.aclFile) writePrivate(ext.aclFile, mosquittoAclFile(ext.username, consumers));
  if (ext.confFile) writePrivate(ext.confFile, mosquittoConfFile({ passwordFile: ext.passwordFile, aclFile: ext.aclFile, maxPacketBytes: ext.maxPacketBytes }));
}

/** mosquitto's listener certificate from the relay's CA (kept while valid), when certFile/keyFile are set. */
export async function writeMosquittoCert(config: RelayConfig, pki: RelayPki | undefined): Promise<boolean> {
  const ext = config.broker.external;
  if (!ext.certFile || !pki) return false;
  const hosts = [ext.url, config.broker.publicUrl].filter(Boolean).map((u) => new URL(u).hostname.replace(/^\[|\]$/g, ''));
  await pki.ensureIssued({ cert: ext.certFile, key: ext.keyFile }, [...new Set([...pki.sans, ...hosts])]);
  return true;
}
