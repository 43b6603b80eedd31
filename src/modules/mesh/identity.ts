/**
 * The node's mesh identity: an RSA key made on the node (node:crypto; it never leaves the
 * node) and a self-signed certificate for it (src/lib/x509.ts, node:crypto signing),
 * kept in `<dataDir>/mesh/` (key 0600). Peers do not trust the certificate's issuer: they
 * compare the SHA-256 of its SubjectPublicKeyInfo with the key the relay publishes for that
 * node (docs/mesh.md) — the node reports it over its own authenticated link, and only the
 * relay writes it onto the Node.
 */
import { createHash, generateKeyPair, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeCertificate } from '../../lib/x509.js';

export interface MeshIdentity {
  key: string;
  cert: string;
  /** hex SHA-256 of the certificate's DER SubjectPublicKeyInfo */
  keySha256: string;
}

const DAY = 86_400_000;

export function spkiSha256(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
}

/** The key hash of a peer's certificate (what a TLS socket's getPeerX509Certificate gives), or undefined. */
export function peerKeySha256(cert: X509Certificate | undefined): string | undefined {
  return cert ? spkiSha256(cert.publicKey) : undefined;
}

const newKeys = (): Promise<{ publicKey: string; privateKey: string }> =>
  new Promise((resolve, reject) =>
    generateKeyPair('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } }, (e, publicKey, privateKey) =>
      e ? reject(e) : resolve({ publicKey, privateKey }),
    ),
  );

/** The identity in `dir`, made on first use (and again if its certificate is within 30 days of expiry or unreadable). */
export async function meshIdentity(dir: string, nodeName: string, now: Date = new Date()): Promise<MeshIdentity> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = { key: join(dir, 'key.pem'), cert: join(dir, 'cert.pem') };
  if (existsSync(files.key) && existsSync(files.cert)) {
    try {
      const cert = readFileSync(files.cert, 'utf8');
      const x = new X509Certificate(cert);
      if (Date.parse(x.validTo) - now.getTime() > 30 * DAY && x.subject.includes(`CN=${nodeName}`)) {
        return { key: readFileSync(files.key, 'utf8'), cert, keySha256: spkiSha256(x.publicKey) };
      }
    } catch {
      /* made again below */
    }
  }
  const k = await newKeys();
  const cert = makeCertificate({
    commonName: nodeName,
    serial: Buffer.concat([Buffer.from([1]), randomBytes(15)]),
    notBefore: new Date(now.getTime() - DAY),
    notAfter: new Date(now.getTime() + 3650 * DAY),
    publicKey: k.publicKey,
    signingKey: k.privateKey,
    keyUsage: ['digitalSignature', 'keyEncipherment'],
    extKeyUsage: ['serverAuth', 'clientAuth'],
  });
  writeFileSync(files.key, k.privateKey, { mode: 0o600 });
  chmodSync(files.key, 0o600);
  writeFileSync(files.cert, cert, { mode: 0o644 });
  return { key: k.privateKey, cert, keySha256: spkiSha256(new X509Certificate(cert).publicKey) };
}
