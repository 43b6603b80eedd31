/**
 * Issuing certificates with @peculiar/x509 over Node's WebCrypto (Node's crypto reads X.509 but
 * cannot issue it). Loaded lazily (src/relay/tls/pki.ts imports it only when a certificate must
 * be made), so a relay that starts with valid certificates never loads the library. New keys are
 * ECDSA P-256 (as K3s makes them); a configured CA key may also be RSA or another EC curve.
 */
import 'reflect-metadata/lite'; // @peculiar/x509's dependency injection needs the Reflect metadata API
import * as x509 from '@peculiar/x509';
import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';

const crypto = webcrypto;
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;

export interface PemPair {
  certPem: string;
  keyPem: string;
}

interface SigningKey {
  key: CryptoKey;
  algorithm: { name: string; hash: string };
}

const DAY = 86_400_000;

function serial(): string {
  const b = randomBytes(16);
  b[0]! &= 0x7f; // positive
  return b.toString('hex');
}

function keyPem(der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN PRIVATE KEY-----\n${b64.trimEnd()}\n-----END PRIVATE KEY-----\n`;
}

async function newKeyPair(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
}

/** Import a CA key in any PEM form Node reads (PKCS#8, SEC1, PKCS#1) for signing. */
async function importSigningKey(pem: string): Promise<SigningKey> {
  const k = createPrivateKey(pem);
  const der = k.export({ type: 'pkcs8', format: 'der' });
  if (k.asymmetricKeyType === 'ec') {
    const curve = k.asymmetricKeyDetails?.namedCurve;
    const namedCurve = curve === 'prime256v1' ? 'P-256' : curve === 'secp384r1' ? 'P-384' : curve === 'secp521r1' ? 'P-521' : undefined;
    if (!namedCurve) throw new Error(`CA key: unsupported EC curve ${curve ?? '?'}`);
    const hash = namedCurve === 'P-256' ? 'SHA-256' : namedCurve === 'P-384' ? 'SHA-384' : 'SHA-512';
    const key = await crypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve }, false, ['sign']);
    return { key, algorithm: { name: 'ECDSA', hash } };
  }
  if (k.asymmetricKeyType === 'rsa') {
    const key = await crypto.subtle.importKey('pkcs8', der, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
    return { key, algorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } };
  }
  throw new Error(`CA key: unsupported key type ${k.asymmetricKeyType ?? '?'} (EC or RSA)`);
}

export async function createCa(o: { commonName: string; days: number; now: Date }): Promise<PemPair> {
  const keys = await newKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial(),
      name: [{ CN: [o.commonName] }],
      notBefore: new Date(o.now.getTime() - DAY),
      notAfter: new Date(o.now.getTime() + o.days * DAY),
      keys,
      signingAlgorithm: { ...EC_P256, hash: 'SHA-256' },
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { certPem: cert.toString('pem') + '\n', keyPem: keyPem(await crypto.subtle.exportKey('pkcs8', keys.privateKey)) };
}

/** A TLS server certificate for `sans` (DNS names and IPs), signed by the CA. */
export async function issueServing(ca: PemPair, o: { commonName: string; sans: readonly string[]; days: number; now: Date }): Promise<PemPair> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const signer = await importSigningKey(ca.keyPem);
  const keys = await newKeyPair();
  const names = o.sans.map((s) => (isIP(s) ? { type: 'ip' as const, value: s } : { type: 'dns' as const, value: s }));
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serial(),
      subject: [{ CN: [o.commonName] }],
      issuer: caCert.subject,
      notBefore: new Date(o.now.getTime() - 3_600_000),
      notAfter: new Date(o.now.getTime() + o.days * DAY),
      publicKey: keys.publicKey,
      signingKey: signer.key,
      signingAlgorithm: signer.algorithm,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(names),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        await x509.AuthorityKeyIdentifierExtension.create(caCert, false, crypto),
      ],
    },
    crypto,
  );
  return { certPem: cert.toString('pem') + '\n', keyPem: keyPem(await crypto.subtle.exportKey('pkcs8', keys.privateKey)) };
}
