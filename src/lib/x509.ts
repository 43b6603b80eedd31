/**
 * X.509 certificates made with node:crypto alone: node:crypto reads certificates and signs bytes
 * but cannot assemble a certificate, so this writes the few DER structures a node's own
 * certificates need (RFC 5280: version 3, serial, names of one common name, validity, the key's
 * SubjectPublicKeyInfo as node:crypto exports it, and the extensions below) and signs them with
 * SHA-256 (RSA PKCS#1 v1.5, or ECDSA for an EC key). It replaced node-forge, which cost ~2 MiB of
 * heap once loaded (and stayed loaded after a first start) and took seconds to sign in JS without
 * TurboFan. Pure apart from the signature; tested against node:crypto's and OpenSSL's parsers.
 */
import { createHash, createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';

export interface CertificateSpec {
  /** the subject's common name */
  commonName: string;
  /** the issuer's Name as DER (`subjectOf(caPem)`); absent: self-signed (issuer = subject) */
  issuer?: Buffer;
  /** positive, at most 20 bytes (RFC 5280) */
  serial: Buffer;
  notBefore: Date;
  notAfter: Date;
  /** the certified key (PEM or KeyObject) */
  publicKey: string | KeyObject;
  /** the key that signs (the issuer's; the subject's own when self-signed) */
  signingKey: string | KeyObject;
  ca?: boolean;
  keyUsage?: readonly KeyUsage[];
  extKeyUsage?: readonly ('serverAuth' | 'clientAuth')[];
  /** subjectAltName entries: IP addresses and DNS names */
  altNames?: readonly string[];
  /** add a subjectKeyIdentifier (SHA-1 of the public key, RFC 5280 4.2.1.2) */
  subjectKeyId?: boolean;
}

export type KeyUsage = 'digitalSignature' | 'nonRepudiation' | 'keyEncipherment' | 'dataEncipherment' | 'keyAgreement' | 'keyCertSign' | 'cRLSign';
const KEY_USAGE_BIT: Record<KeyUsage, number> = { digitalSignature: 0, nonRepudiation: 1, keyEncipherment: 2, dataEncipherment: 3, keyAgreement: 4, keyCertSign: 5, cRLSign: 6 };

// ---- DER writing

function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let len: Buffer;
  if (n < 0x80) len = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    len = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), len, content]);
}

const seq = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items));
const octets = (b: Buffer): Buffer => tlv(0x04, b);
const bits = (b: Buffer, unused = 0): Buffer => tlv(0x03, Buffer.concat([Buffer.from([unused]), b]));
const bool = (v: boolean): Buffer => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const NULL = Buffer.from([0x05, 0]);

function integer(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0 && (b[i + 1]! & 0x80) === 0) i++;
  const v = b.subarray(i);
  return tlv(0x02, (v[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), v]) : v);
}

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out: number[] = [40 * parts[0]! + parts[1]!];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/** UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5) */
function time(d: Date): Buffer {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '');
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`, 'ascii')) : tlv(0x18, Buffer.from(`${digits}Z`, 'ascii'));
}

/** A Name of one common name (UTF8String). */
export function commonNameDer(cn: string): Buffer {
  return seq(set(seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn, 'utf8')))));
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  let text = ip.split('%')[0]!;
  // an embedded IPv4 address (::ffff:10.0.0.1) as its two 16-bit words
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const b = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const words = (w: string | undefined): number[] => (w ? w.split(':').map((x) => Number.parseInt(x, 16)) : []);
  const h = words(head);
  const r = words(rest);
  const all = rest === undefined ? h : [...h, ...new Array<number>(8 - h.length - r.length).fill(0), ...r];
  const out = Buffer.alloc(16);
  all.forEach((w, i) => out.writeUInt16BE(w, i * 2));
  return out;
}

function keyUsageBits(usages: readonly KeyUsage[]): Buffer {
  let v = 0;
  for (const u of usages) v |= 0x80 >> KEY_USAGE_BIT[u];
  // DER: no trailing zero bits
  let unused = 0;
  while (unused < 7 && (v & (1 << unused)) === 0) unused++;
  return bits(Buffer.from([v]), v === 0 ? 0 : unused);
}

const extension = (id: string, value: Buffer, critical = false): Buffer => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

// ---- DER reading (just enough to walk a certificate and a SubjectPublicKeyInfo)

interface Node {
  tag: number;
  /** the whole TLV */
  raw: Buffer;
  content: Buffer;
}

function children(der: Buffer): Node[] {
  const out: Node[] = [];
  let i = 0;
  while (i < der.length) {
    const tag = der[i]!;
    let len = der[i + 1]!;
    let hdr = 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let k = 0; k < n; k++) len = len * 256 + der[i + 2 + k]!;
      hdr += n;
    }
    if (i + hdr + len > der.length) throw new Error('truncated DER');
    out.push({ tag, raw: der.subarray(i, i + hdr + len), content: der.subarray(i + hdr, i + hdr + len) });
    i += hdr + len;
  }
  return out;
}

const pemBody = (pem: string): Buffer => Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');

/** The subject Name of a certificate, as DER: the issuer of what it signs (byte for byte, whoever wrote it). */
export function subjectOf(certPem: string): Buffer {
  const [cert] = children(pemBody(certPem));
  const tbs = children(cert!.content)[0]!;
  const fields = children(tbs.content);
  const at = fields[0]?.tag === 0xa0 ? 1 : 0; // explicit version present
  return fields[at + 4]!.raw;
}

// ---- the certificate

function signatureAlgorithm(key: KeyObject): { alg: Buffer; type: 'rsa' | 'ec' } {
  const t = key.asymmetricKeyType;
  if (t === 'rsa') return { alg: seq(oid('1.2.840.113549.1.1.11'), NULL), type: 'rsa' };
  if (t === 'ec') return { alg: seq(oid('1.2.840.10045.4.3.2')), type: 'ec' };
  throw new Error(`unsupported signing key type ${t}`);
}

/** A signed certificate, PEM. */
export function makeCertificate(spec: CertificateSpec): string {
  const pub = typeof spec.publicKey === 'string' ? createPublicKey(spec.publicKey) : spec.publicKey;
  const signer = typeof spec.signingKey === 'string' ? createPrivateKey(spec.signingKey) : spec.signingKey;
  const spki = pub.export({ type: 'spki', format: 'der' });
  const { alg } = signatureAlgorithm(signer);
  const subject = commonNameDer(spec.commonName);

  const exts: Buffer[] = [extension('2.5.29.19', seq(...(spec.ca ? [bool(true)] : [])), spec.ca === true)];
  if (spec.keyUsage?.length) exts.push(extension('2.5.29.15', keyUsageBits(spec.keyUsage), true));
  if (spec.extKeyUsage?.length) exts.push(extension('2.5.29.37', seq(...spec.extKeyUsage.map((u) => oid(u === 'serverAuth' ? '1.3.6.1.5.5.7.3.1' : '1.3.6.1.5.5.7.3.2')))));
  if (spec.altNames?.length) {
    exts.push(extension('2.5.29.17', seq(...spec.altNames.map((h) => (isIP(h) ? tlv(0x87, ipBytes(h)) : tlv(0x82, Buffer.from(h, 'ascii')))))));
  }
  if (spec.subjectKeyId) {
    const keyBits = children(children(spki)[0]!.content)[1]!.content.subarray(1);
    exts.push(extension('2.5.29.14', octets(createHash('sha1').update(keyBits).digest())));
  }

  const tbs = seq(
    tlv(0xa0, integer(Buffer.from([2]))),
    integer(spec.serial),
    alg,
    spec.issuer ?? subject,
    seq(time(spec.notBefore), time(spec.notAfter)),
    subject,
    spki,
    tlv(0xa3, seq(...exts)),
  );
  const signature = sign('sha256', tbs, signer);
  const der = seq(tbs, alg, bits(signature));
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`;
}
