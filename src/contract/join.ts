/**
 * The edge bootstrap API, beside the Kubernetes one and outside `/api` and `/apis` so it never
 * collides with a Kubernetes route, and how a joining node pins the relay's CA (as kubeadm
 * does): the hash of the CA certificate's SubjectPublicKeyInfo, printed with the bootstrap token.
 *
 *   GET  /edge/v1/ca       none                  → the CA certificate (PEM); fetched without
 *                                                  verification, then checked against the hash
 *   POST /edge/v1/join     bootstrap token        JoinRequest → JoinResponse (rate-limited, audited)
 *   POST /edge/v1/tokens   admin                  {ttlSeconds?} → TokenCreated (with the join command)
 *
 * Errors on these routes are Kubernetes Status objects.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { EDGE_API_PREFIX } from './api.js';

export const EDGE_PATHS = {
  ca: `${EDGE_API_PREFIX}/ca`,
  join: `${EDGE_API_PREFIX}/join`,
  tokens: `${EDGE_API_PREFIX}/tokens`,
} as const;

/** `sha256:<hex>` of the certificate's DER SubjectPublicKeyInfo (kubeadm's --discovery-token-ca-cert-hash form). */
export function caHashOf(certPem: string | Buffer): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

/** The canonical form of a `--ca-hash` value, or undefined when it is not `sha256:` + 64 hex digits. */
export function parseCaHash(text: string): string | undefined {
  const m = /^sha256:([0-9a-f]{64})$/i.exec(text.trim());
  return m ? `sha256:${m[1]!.toLowerCase()}` : undefined;
}

/** The one PEM certificate in `text`, or undefined (no certificate, several, or unparsable). */
export function singleCertificate(text: string): string | undefined {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length !== 1) return undefined;
  try {
    new X509Certificate(blocks[0]!);
  } catch {
    return undefined;
  }
  return `${blocks[0]}\n`;
}

export function joinCommand(o: { relayUrl: string; token: string; caHash?: string }): string {
  return `edgecore join --relay ${o.relayUrl} --token ${o.token}${o.caHash ? ` --ca-hash ${o.caHash}` : ' --insecure-http'}`;
}
