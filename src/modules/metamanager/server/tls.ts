/**
 * The MetaServer's TLS: a node-local CA (made once, kept in `<dir>/ca.{crt,key}`, the key 0600)
 * and a serving certificate it signs for the addresses the server listens on (reissued when an
 * address is missing or it nears expiry). Pods trust the CA through the mounted `ca.crt`, as
 * in-cluster clients trust the cluster CA; @kubernetes/client-node refuses plain HTTP.
 *
 * Keys come from node:crypto (RSA 2048, native); the certificates are written and signed by
 * src/lib/x509.ts (node:crypto signs; it cannot assemble a certificate).
 */
import { generateKeyPair, randomBytes, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { makeCertificate, subjectOf } from '../../../lib/x509.js';

export interface ServingTls {
  ca: string;
  cert: string;
  key: string;
}

const DAY = 86_400_000;

const newKeys = (): Promise<{ publicKey: string; privateKey: string }> =>
  new Promise((resolve, reject) =>
    generateKeyPair('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } }, (e, publicKey, privateKey) =>
      e ? reject(e) : resolve({ publicKey, privateKey }),
    ),
  );

function writePrivate(file: string, text: string): void {
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600);
}

/** Does this certificate cover every host and stay valid for 30 more days? */
export function covers(certPem: string, hosts: readonly string[], now: Date): boolean {
  try {
    const c = new X509Certificate(certPem);
    if (Date.parse(c.validTo) - now.getTime() < 30 * DAY) return false;
    return hosts.every((h) => (isIP(h) ? c.checkIP(h) !== undefined : c.checkHost(h) !== undefined));
  } catch {
    return false;
  }
}

/** The CA and a serving certificate for `hosts` (IP addresses and DNS names), made or reused. */
export async function servingTls(dir: string, commonName: string, hosts: readonly string[], now: Date = new Date()): Promise<ServingTls> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = { caCert: join(dir, 'ca.crt'), caKey: join(dir, 'ca.key'), cert: join(dir, 'serving.crt'), key: join(dir, 'serving.key') };
  const makeCa = !existsSync(files.caCert) || !existsSync(files.caKey) || !covers(readFileSync(files.caCert, 'utf8'), [], now);
  const makeServing = makeCa || !existsSync(files.cert) || !existsSync(files.key) || !covers(readFileSync(files.cert, 'utf8'), hosts, now);
  // the usual start: both exist and still cover
  if (!makeServing) return { ca: readFileSync(files.caCert, 'utf8'), cert: readFileSync(files.cert, 'utf8'), key: readFileSync(files.key, 'utf8') };
  const serial = (): Buffer => Buffer.concat([Buffer.from([1]), randomBytes(15)]);

  if (makeCa) {
    const k = await newKeys();
    const ca = makeCertificate({
      commonName: `edgecore-metaserver-ca@${commonName}`,
      serial: serial(),
      notBefore: new Date(now.getTime() - DAY),
      notAfter: new Date(now.getTime() + 3650 * DAY),
      publicKey: k.publicKey,
      signingKey: k.privateKey,
      ca: true,
      keyUsage: ['keyCertSign', 'cRLSign', 'digitalSignature'],
      subjectKeyId: true,
    });
    writePrivate(files.caKey, k.privateKey);
    writeFileSync(files.caCert, ca, { mode: 0o644 });
  }
  const caPem = readFileSync(files.caCert, 'utf8');
  // a new CA always gets a new serving certificate (the old one was signed by the old CA)
  const k = await newKeys();
  const cert = makeCertificate({
    commonName: `edgecore-metaserver@${commonName}`,
    // the CA's subject as it is written (a CA made by an older version included)
    issuer: subjectOf(caPem),
    serial: serial(),
    notBefore: new Date(now.getTime() - DAY),
    notAfter: new Date(now.getTime() + 365 * DAY),
    publicKey: k.publicKey,
    signingKey: readFileSync(files.caKey, 'utf8'),
    keyUsage: ['digitalSignature', 'keyEncipherment'],
    extKeyUsage: ['serverAuth'],
    altNames: hosts,
  });
  writePrivate(files.key, k.privateKey);
  writeFileSync(files.cert, cert, { mode: 0o644 });
  return { ca: caPem, cert: readFileSync(files.cert, 'utf8'), key: readFileSync(files.key, 'utf8') };
}
