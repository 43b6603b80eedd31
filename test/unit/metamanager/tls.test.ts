/**
 * The MetaServer's TLS material on disk: made once, reused as long as it covers the hosts, the
 * serving certificate reissued for a new host, and a new CA always followed by a serving
 * certificate it signed (real keys, real X.509 through node:crypto).
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { servingTls } from '../../../src/modules/metamanager/server/tls.js';
import { tmpDir } from '../../helpers/tmp.js';

const signedBy = (cert: string, ca: string): boolean => new X509Certificate(cert).verify(new X509Certificate(ca).publicKey);

test('servingTls: made once and reused while it covers; a new host reissues only the serving certificate', async (t) => {
  const dir = join(tmpDir(t), 'ms');
  const first = await servingTls(dir, 'node-a', ['127.0.0.1', 'localhost']);
  assert.ok(signedBy(first.cert, first.ca));
  assert.ok(new X509Certificate(first.cert).checkIP('127.0.0.1'));
  const mtime = statSync(join(dir, 'serving.crt')).mtimeMs;

  const again = await servingTls(dir, 'node-a', ['127.0.0.1']);
  assert.deepEqual(again, first, 'nothing is made when the files cover the hosts');
  assert.equal(statSync(join(dir, 'serving.crt')).mtimeMs, mtime, 'the serving certificate was not rewritten');

  const wider = await servingTls(dir, 'node-a', ['127.0.0.1', '10.0.0.7']);
  assert.equal(wider.ca, first.ca, 'the CA stays');
  assert.notEqual(wider.cert, first.cert);
  assert.ok(new X509Certificate(wider.cert).checkIP('10.0.0.7'));
  assert.ok(signedBy(wider.cert, wider.ca));
});

test('servingTls: a CA made again (its key lost) comes with a serving certificate it signed', async (t) => {
  const dir = join(tmpDir(t), 'ms');
  const first = await servingTls(dir, 'node-a', ['127.0.0.1']);
  rmSync(join(dir, 'ca.key'));
  const next = await servingTls(dir, 'node-a', ['127.0.0.1']);
  assert.notEqual(next.ca, first.ca);
  assert.ok(signedBy(next.cert, next.ca), 'the serving certificate is signed by the new CA');
  assert.ok(!signedBy(next.cert, first.ca));
});
