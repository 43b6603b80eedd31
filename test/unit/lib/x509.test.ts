/**
 * Certificates written by src/lib/x509.ts, read back by node:crypto and by the openssl CLI (both
 * OpenSSL's parser), and used in a real TLS handshake: fields, extensions, signatures, names.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect, createServer } from 'node:tls';
import { commonNameDer, makeCertificate, subjectOf } from '../../../src/lib/x509.js';
import { tmpDir } from '../../helpers/tmp.js';

const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
const DAY = 86_400_000;
const now = Date.UTC(2026, 10, 27);
const openssl = (args: string[], input?: string): string => execFileSync('openssl', args, { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });

function pair() {
  const caKeys = rsa();
  const ca = makeCertificate({
    commonName: 'edgecore-metaserver-ca@node-a',
    serial: Buffer.from('01ff00aa', 'hex'),
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 3650 * DAY),
    publicKey: caKeys.publicKey,
    signingKey: caKeys.privateKey,
    ca: true,
    keyUsage: ['keyCertSign', 'cRLSign', 'digitalSignature'],
    subjectKeyId: true,
  });
  const keys = rsa();
  const cert = makeCertificate({
    commonName: 'edgecore-metaserver@node-a',
    issuer: subjectOf(ca),
    serial: Buffer.from([0x80, 1, 2]),
    notBefore: new Date(now - DAY),
    // past 2049: GeneralizedTime
    notAfter: new Date(Date.UTC(2051, 0, 2, 3, 4, 5)),
    publicKey: keys.publicKey,
    signingKey: caKeys.privateKey,
    keyUsage: ['digitalSignature', 'keyEncipherment'],
    extKeyUsage: ['serverAuth'],
    altNames: ['127.0.0.1', 'localhost', '::1', 'fd00::7:1', '::ffff:10.0.0.7'],
  });
  return { ca, cert, key: keys.privateKey };
}

test('x509: a CA and a certificate it signs, as OpenSSL reads them', (t) => {
  const { ca, cert } = pair();
  const c = new X509Certificate(cert);
  const a = new X509Certificate(ca);
  assert.ok(c.verify(a.publicKey), 'signed by the CA');
  assert.ok(a.verify(a.publicKey), 'the CA is self-signed');
  assert.ok(!c.verify(c.publicKey));
  assert.equal(a.ca, true);
  assert.equal(c.ca, false);
  assert.equal(c.subject, 'CN=edgecore-metaserver@node-a');
  assert.equal(c.issuer, a.subject);
  assert.equal(c.serialNumber.toUpperCase(), '800102');
  assert.equal(a.serialNumber.toUpperCase(), '01FF00AA');
  assert.equal(new Date(c.validFrom).getTime(), now - DAY);
  assert.equal(new Date(c.validTo).getTime(), Date.UTC(2051, 0, 2, 3, 4, 5));
  assert.ok(c.checkIP('127.0.0.1') && c.checkIP('::1') && c.checkIP('fd00::7:1') && c.checkIP('10.0.0.7') === undefined);
  assert.equal(c.checkHost('localhost'), 'localhost');
  assert.equal(c.checkHost('example.com'), undefined);
  assert.deepEqual(c.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'extended key usage: serverAuth');

  const dir = tmpDir(t);
  writeFileSync(join(dir, 'ca.crt'), ca);
  writeFileSync(join(dir, 'c.crt'), cert);
  assert.match(openssl(['verify', '-CAfile', join(dir, 'ca.crt'), join(dir, 'c.crt')]), /c\.crt: OK/);
  const text = openssl(['x509', '-noout', '-text', '-in', join(dir, 'c.crt')]);
  assert.match(text, /Version: 3 \(0x2\)/);
  assert.match(text, /Serial Number: 8388866 \(0x800102\)\n/, 'a serial with its high bit set stays positive');
  assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment\n/);
  assert.match(text, /IP Address:0:0:0:0:0:FFFF:A00:7/i);
  assert.match(text, /IP Address:FD00:0:0:0:0:0:7:1/i);
  assert.match(text, /DNS:localhost/);
  const caText = openssl(['x509', '-noout', '-text', '-in', join(dir, 'ca.crt')]);
  assert.match(caText, /X509v3 Basic Constraints: critical\s+CA:TRUE/);
  assert.match(caText, /Certificate Sign, CRL Sign/);
  assert.match(caText, /X509v3 Subject Key Identifier/);
});

test('x509: subjectOf returns the Name as written, so a new certificate chains to a CA made elsewhere', (t) => {
  const dir = tmpDir(t);
  // a CA written by the openssl CLI (PrintableString names, other extensions)
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt'), '-days', '30', '-subj', '/O=Other Writer/CN=legacy-ca']);
  const caPem = openssl(['x509', '-in', join(dir, 'ca.crt')]);
  const keys = rsa();
  const cert = makeCertificate({
    commonName: 'leaf',
    issuer: subjectOf(caPem),
    serial: Buffer.from([1]),
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + DAY),
    publicKey: keys.publicKey,
    signingKey: execFileSync('cat', [join(dir, 'ca.key')], { encoding: 'utf8' }),
  });
  writeFileSync(join(dir, 'leaf.crt'), cert);
  assert.match(openssl(['verify', '-CAfile', join(dir, 'ca.crt'), join(dir, 'leaf.crt')]), /leaf\.crt: OK/);
  assert.notDeepEqual(subjectOf(caPem), commonNameDer('legacy-ca'));
});

test('x509: an EC key signs too; a TLS client trusting the CA completes a handshake with the certificate', async (t) => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1', publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  const self = new X509Certificate(
    makeCertificate({ commonName: 'ec', serial: Buffer.from([7]), notBefore: new Date(now), notAfter: new Date(now + DAY), publicKey: ec.publicKey, signingKey: ec.privateKey }),
  );
  assert.ok(self.verify(self.publicKey));

  const { ca, cert, key } = pair();
  // the pair's validity starts at a fixed date in 2026; the handshake checks it against the clock
  const server = createServer({ cert, key }, (s) => s.end('hello'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const port = (server.address() as { port: number }).port;
  const got = await new Promise<string>((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => undefined);
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString()));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
  assert.equal(got, 'hello');
});
