/**
 * What `edgerelay` does on the relay machine besides running: bootstrap tokens with their join
 * command, kubeconfigs, and credential rotation. These act on the data dir and store directly
 * (root on the relay machine holds the keys anyway); a running relay notices: token files are
 * re-read when they change, node credentials through the store's credentials revision.
 */
import { networkInterfaces } from 'node:os';
import { stringify } from 'yaml';
import { joinCommand } from '../contract/join.js';
import { ValidationError } from '../core/errors.js';
import { LOCKED_PASSWORD_HASH, newSecret, sha256 } from './auth.js';
import type { RelayConfig } from './config.js';
import type { CredentialStore } from './store/credentials.js';
import type { ApiUser } from './tokens.js';

const WILDCARDS = new Set(['0.0.0.0', '::', '']);

function hostPart(h: string): string {
  return h.includes(':') ? `[${h}]` : h;
}

/** The API's URL for clients on this machine (kubeconfig default): api.publicUrl, else the bind address or loopback. */
export function localApiUrl(c: RelayConfig): string {
  if (c.api.publicUrl) return c.api.publicUrl;
  const scheme = c.api.tls.enabled ? 'https' : 'http';
  return `${scheme}://${hostPart(WILDCARDS.has(c.api.host) ? '127.0.0.1' : c.api.host)}:${c.api.port}`;
}

/** The API's URL for a node elsewhere (join command default): api.publicUrl, the bind address, or this machine's first LAN IPv4. */
export function remoteApiUrl(c: RelayConfig, interfaces = networkInterfaces()): string {
  if (c.api.publicUrl) return c.api.publicUrl;
  const scheme = c.api.tls.enabled ? 'https' : 'http';
  let host = WILDCARDS.has(c.api.host) ? '' : c.api.host;
  if (!host) {
    const v4 = Object.values(interfaces)
      .flatMap((l) => l ?? [])
      .find((a) => a.family === 'IPv4' && !a.internal);
    host = v4?.address ?? '127.0.0.1';
  }
  return `${scheme}://${hostPart(host)}:${c.api.port}`;
}

export interface BootstrapToken {
  token: string;
  expiresAt: Date;
}

/** A new bootstrap token (stored as its SHA-256; reusable until it expires). */
export async function issueBootstrapToken(store: CredentialStore, ttlSeconds: unknown, now: Date): Promise<BootstrapToken> {
  const ttl = Number(ttlSeconds);
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 365 * 86400) throw new ValidationError([{ path: 'ttlSeconds', reason: 'must be an integer from 1 to 31536000' }], 'token request');
  const token = `ect.${newSecret(18)}`;
  const expiresAt = new Date(now.getTime() + ttl * 1000);
  await store.createToken(sha256(token), expiresAt, now);
  return { token, expiresAt };
}

export function joinCommandFor(c: RelayConfig, token: string, caHash: string | undefined, server?: string): string {
  return joinCommand({ relayUrl: server ?? remoteApiUrl(c), token, ...(caHash ? { caHash } : {}) });
}

/** A kubeconfig with the CA, the server URL and one of the two tokens. */
export function kubeconfigFor(o: { server: string; caPem: string | undefined; token: string; user: ApiUser }): string {
  const userName = `edgerelay-${o.user}`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'edgerelay',
        cluster: { server: o.server, ...(o.caPem ? { 'certificate-authority-data': Buffer.from(o.caPem).toString('base64') } : {}) },
      },
    ],
    users: [{ name: userName, user: { token: o.token } }],
    contexts: [{ name: userName, context: { cluster: 'edgerelay', user: userName, namespace: 'default' } }],
    'current-context': userName,
    preferences: {},
  });
}

/** Let an existing node name join again (once, until the window closes). */
export async function allowRejoin(store: CredentialStore, name: string, windowSeconds: number, now: Date): Promise<Date> {
  if (!(await store.getNode(name))) throw new Error(`no node "${name}": a new name joins with a bootstrap token alone`);
  const until = new Date(now.getTime() + windowSeconds * 1000);
  await store.allowRejoin(name, until);
  return until;
}

/** Revoke a node's MQTT password (its live session is closed by the running relay) and allow its re-join. */
export async function rotateNode(store: CredentialStore, name: string, windowSeconds: number, now: Date): Promise<Date> {
  if (!(await store.setNodePassword(name, LOCKED_PASSWORD_HASH))) throw new Error(`no node "${name}"`);
  const until = await allowRejoin(store, name, windowSeconds, now);
  await store.bumpCredentialsRevision();
  return until;
}
