/**
 * The MetaServer's TLS: a node-local CA (made once, kept in `<dir>/ca.{crt,key}`, the key 0600)
 * and a serving certificate it signs for the addresses the server listens on (reissued when an
 * address is missing or it nears expiry). Pods trust the CA through the mounted `ca.crt`, as
 * in-cluster clients trust the cluster CA; @kubernetes/client-node refuses plain HTTP.
 *
 * Keys come from node:crypto (RSA 2048, native); node-forge only assembles and signs the X.509
 * certificates, which node:crypto cannot make. It is imported only when one must be made.
 */
import { generateKeyPair, randomBytes, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';

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
  // the usual start: both exist and still cover; node-forge (~2 MiB once loaded) stays unloaded
  if (!makeServing) return { ca: readFileSync(files.caCert, 'utf8'), cert: readFileSync(files.cert, 'utf8'), key: readFileSync(files.key, 'utf8') };
  const { default: forge } = await import('node-forge');
  const { pki } = forge;
  const sign = (cert: ReturnType<typeof pki.createCertificate>, key: string): void => cert.sign(pki.privateKeyFromPem(key), forge.md.sha256.create());
  const serial = (): string => `01${randomBytes(15).toString('hex')}`;

  if (makeCa) {
    const k = await newKeys();
    const ca = pki.createCertificate();
    ca.publicKey = pki.publicKeyFromPem(k.publicKey);
    ca.serialNumber = serial();
    ca.validity.notBefore = new Date(now.getTime() - DAY);
    ca.validity.notAfter = new Date(now.getTime() + 3650 * DAY);
    const subject = [{ name: 'commonName', value: `edgecore-metaserver-ca@${commonName}` }];
    ca.setSubject(subject);
    ca.setIssuer(subject);
    ca.setExtensions([
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      { name: 'subjectKeyIdentifier' },
    ]);
    sign(ca, k.privateKey);
    writePrivate(files.caKey, k.privateKey);
    writeFileSync(files.caCert, pki.certificateToPem(ca), { mode: 0o644 });
  }
  const caPem = readFileSync(files.caCert, 'utf8');
  // a new CA always gets a new serving certificate (the old one was signed by the old CA)
  const caCert = pki.certificateFromPem(caPem);
  const k = await newKeys();
  const cert = pki.createCertificate();
  cert.publicKey = pki.publicKeyFromPem(k.publicKey);
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(now.getTime() - DAY);
  cert.validity.notAfter = new Date(now.getTime() + 365 * DAY);
  cert.setSubject([{ name: 'commonName', value: `edgecore-metaserver@${commonName}` }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: hosts.map((h) => (isIP(h) ? { type: 7, ip: h } : { type: 2, value: h })) },
  ]);
  sign(cert, readFileSync(files.caKey, 'utf8'));
  writePrivate(files.key, k.privateKey);
  writeFileSync(files.cert, pki.certificateToPem(cert), { mode: 0o644 });
  return { ca: caPem, cert: readFileSync(files.cert, 'utf8'), key: readFileSync(files.key, 'utf8') };
}
