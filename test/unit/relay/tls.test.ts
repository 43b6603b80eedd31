/** The relay's trust plumbing, pure parts and file work: renewal decisions, SANs, the PKI on disk, the CA pin. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { test } from 'node:test';
import { caHashOf, joinCommand, parseCaHash, singleCertificate } from '../../../src/contract/join.js';
import { nullLogger } from '../../../src/core/logger.js';
import { parseRelayConfig, relayConfigIssues, relayConfigSchema } from '../../../src/relay/config.js';
import { tlsFetch } from '../../../src/lib/tls-fetch.js';
import { caAction, openPki, planIssued } from '../../../src/relay/tls/pki.js';
import { createApiServer, listenApi } from '../../../src/relay/tls/server.js';
import { wantedSans } from '../../../src/relay/tls/sans.js';
import { tmpDir } from '../../helpers/tmp.js';

const DAY = 86_400_000;
const now = new Date('2030-01-01T00:00:00Z');
const ok = { notAfter: new Date(now.getTime() + 200 * DAY), issuedByCa: true, keyMatches: true, missingSans: [] };

test('planIssued: keep a good certificate, re-issue for every reason with the reason named', () => {
  assert.equal(planIssued(ok, now, 90), undefined);
  assert.equal(planIssued(undefined, now, 90), 'missing or unreadable');
  assert.equal(planIssued({ ...ok, issuedByCa: false }, now, 90), 'not signed by the current CA');
  assert.equal(planIssued({ ...ok, keyMatches: false }, now, 90), 'does not match its key');
  assert.equal(planIssued({ ...ok, missingSans: ['10.0.0.9'] }, now, 90), 'lacks 10.0.0.9');
  assert.equal(planIssued({ ...ok, notAfter: new Date(now.getTime() + 30 * DAY) }, now, 90), 'expires in 30 days');
  assert.equal(planIssued({ ...ok, notAfter: new Date(now.getTime() - DAY) }, now, 90), 'expired');
  assert.equal(planIssued({ ...ok, notAfter: new Date(now.getTime() + 30 * DAY) }, now, 20), undefined, 'the window is configurable');
});

test('caAction: create both, use both, never replace half a CA', () => {
  assert.equal(caAction(false, false), 'create');
  assert.equal(caAction(true, true), 'use');
  assert.equal(caAction(true, false), 'refuse');
  assert.equal(caAction(false, true), 'refuse');
});

test('wantedSans: host name, addresses (no link-local), loopback, bind address, URL hosts, extras; DNS first', () => {
  const sans = wantedSans({
    hostname: 'Relay-1',
    interfaces: {
      lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true, netmask: '', mac: '', cidr: null }],
      eth0: [
        { address: '192.168.7.2', family: 'IPv4', internal: false, netmask: '', mac: '', cidr: null },
        { address: 'fe80::1', family: 'IPv6', internal: false, netmask: '', mac: '', cidr: null, scopeid: 2 },
      ],
    },
    apiHost: '0.0.0.0',
    urls: ['https://relay.example.org:8443', '', 'mqtts://[2001:db8::5]:8883'],
    extra: ['Edge.Example.org', '203.0.113.4'],
  });
  assert.deepEqual(sans, ['edge.example.org', 'localhost', 'relay-1', 'relay.example.org', '127.0.0.1', '192.168.7.2', '2001:db8::5', '203.0.113.4', '::1']);
});

test('the CA pin is the SHA-256 of the SubjectPublicKeyInfo (as openssl computes it); parsing and the join command', (t) => {
  const dir = tmpDir(t, 'ec-pin-');
  const cert = join(dir, 'c.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=x', '-keyout', join(dir, 'k.pem'), '-out', cert], { stdio: 'ignore' });
  const theirs = execFileSync('sh', ['-c', `openssl x509 -in ${cert} -pubkey -noout | openssl pkey -pubin -outform der | sha256sum`], { encoding: 'utf8' }).split(' ')[0];
  assert.equal(caHashOf(readFileSync(cert)), `sha256:${theirs}`);
  assert.equal(parseCaHash(`SHA256:${theirs!.toUpperCase()}`), `sha256:${theirs}`, 'canonical form');
  assert.equal(parseCaHash(`sha256:${theirs!.toUpperCase()}`), `sha256:${theirs}`);
  assert.equal(parseCaHash('sha256:abc'), undefined);
  const pem = readFileSync(cert, 'utf8');
  assert.equal(singleCertificate(pem), pem.trim() + '\n');
  assert.equal(singleCertificate(pem + pem), undefined, 'a bundle is not one CA');
  assert.equal(singleCertificate('junk'), undefined);
  assert.equal(joinCommand({ relayUrl: 'https://r:8080', token: 'ect.x', caHash: 'sha256:ab' }), 'edgecore join --relay https://r:8080 --token ect.x --ca-hash sha256:ab');
});

test('openPki: first start makes a CA and a serving certificate (keys 0600); the next start keeps them; a new address re-issues the serving one only', async (t) => {
  const dir = tmpDir(t, 'ec-pki-');
  const cfg = parseRelayConfig({ dataDir: dir, api: { tls: { sans: ['relay.example.org'] } } });
  const env = { now: new Date(), log: nullLogger(), hostname: 'box', interfaces: {} };
  const a = await openPki(cfg, env);
  for (const f of ['ca.key', 'server.key']) assert.equal(statSync(join(dir, 'pki', f)).mode & 0o777, 0o600, f);
  assert.equal(statSync(join(dir, 'pki')).mode & 0o777, 0o700);
  const leaf = new X509Certificate(a.serving.certPem);
  const ca = new X509Certificate(a.caPem);
  assert.ok(leaf.verify(ca.publicKey) && leaf.checkIssued(ca));
  assert.ok(ca.ca && !leaf.ca);
  assert.equal(leaf.checkHost('relay.example.org'), 'relay.example.org');
  assert.equal(leaf.checkIP('127.0.0.1'), '127.0.0.1');
  assert.equal(leaf.checkHost('box'), 'box');
  assert.equal(a.caHash, caHashOf(a.caPem));
  const days = (x: X509Certificate): number => Math.round((new Date(x.validTo).getTime() - Date.now()) / DAY);
  assert.equal(days(ca), 3650);
  assert.equal(days(leaf), 365);

  const b = await openPki(cfg, env);
  assert.equal(b.serving.certPem, a.serving.certPem, 'kept');
  const c = await openPki(cfg, { ...env, interfaces: { eth0: [{ address: '10.9.8.7', family: 'IPv4', internal: false, netmask: '', mac: '', cidr: null }] } });
  assert.notEqual(c.serving.certPem, a.serving.certPem, 're-issued for the new address');
  assert.equal(c.caPem, a.caPem, 'same CA');
  assert.equal(new X509Certificate(c.serving.certPem).checkIP('10.9.8.7'), '10.9.8.7');
  const later = await openPki(cfg, { ...env, now: new Date(Date.now() + 300 * DAY) });
  assert.notEqual(later.serving.certPem, a.serving.certPem, 'renewed 65 days before it expires');

  rmSync(join(dir, 'pki', 'ca.key'));
  await assert.rejects(openPki(cfg, env), /holds only half of the CA/);
  assert.ok(existsSync(join(dir, 'pki', 'ca.crt')), 'the CA certificate was not replaced');
});

test('openPki: a configured CA issues the certificates; a configured certificate is used as is', async (t) => {
  const dir = tmpDir(t, 'ec-pki-ca-');
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.crt');
  // an RSA CA, as a site CA may well be
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '30', '-subj', '/CN=site-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign', '-keyout', caKey, '-out', caCert], { stdio: 'ignore' });
  const env = { now: new Date(), log: nullLogger(), hostname: 'box', interfaces: {} };
  const p = await openPki(parseRelayConfig({ dataDir: join(dir, 'd'), api: { tls: { caCert, caKey } } }), env);
  assert.equal(p.caHash, caHashOf(readFileSync(caCert)));
  assert.ok(new X509Certificate(p.serving.certPem).verify(new X509Certificate(readFileSync(caCert)).publicKey));
  assert.ok(!existsSync(join(dir, 'd', 'pki', 'ca.key')), 'no CA of its own');
  execFileSync('openssl', ['verify', '-CAfile', caCert, join(dir, 'd', 'pki', 'server.crt')], { stdio: 'ignore' });

  const given = await openPki(parseRelayConfig({ dataDir: join(dir, 'e'), api: { tls: { cert: join(dir, 'd', 'pki', 'server.crt'), key: join(dir, 'd', 'pki', 'server.key'), caCert } } }), env);
  assert.equal(given.serving.certPem, p.serving.certPem);
  await assert.rejects(given.ensureIssued({ cert: join(dir, 'm.crt'), key: join(dir, 'm.key') }, ['x']), /api\.tls\.caKey: needed to issue/);
  writeFileSync(join(dir, 'two.crt'), readFileSync(caCert, 'utf8') + readFileSync(caCert, 'utf8'));
  await assert.rejects(openPki(parseRelayConfig({ dataDir: join(dir, 'f'), api: { tls: { caCert: join(dir, 'two.crt'), caKey } } }), env), /api\.tls\.caCert: .* must hold exactly one PEM certificate/);
});

test('config: fields that go together, and no listener-less or plain-by-accident broker', () => {
  const issues = (v: unknown): string[] => relayConfigIssues(relayConfigSchema.parse(v)).map((i) => `${i.path}: ${i.reason}`);
  assert.deepEqual(issues({}), []);
  assert.match(issues({ api: { tls: { cert: '/c' } } }).join('\n'), /api\.tls\.key: api\.tls\.cert and api\.tls\.key go together/);
  assert.match(issues({ api: { tls: { cert: '/c', key: '/k' } } }).join('\n'), /api\.tls\.caCert: required with api\.tls\.cert/);
  assert.match(issues({ api: { tls: { caCert: '/ca' } } }).join('\n'), /api\.tls\.caKey: required/);
  assert.match(issues({ broker: { tls: { enabled: false } } }).join('\n'), /broker\.plaintext: broker\.tls\.enabled is false/);
  assert.deepEqual(issues({ broker: { tls: { enabled: false }, plaintext: true } }), []);
  assert.match(issues({ broker: { mode: 'external', external: { url: 'mqtt://mosq:1883' } } }).join('\n'), /broker\.external\.url: nodes would be told a plain URL/);
  assert.deepEqual(issues({ broker: { mode: 'external', external: { url: 'mqtt://127.0.0.1:1883' }, publicUrl: 'mqtts://mosq.example:8883' } }), []);
  assert.throws(() => parseRelayConfig({ broker: { tls: { enabled: false } } }, 'r.yaml'), /config r\.yaml is invalid: broker\.plaintext/);
  // a fleet replica's own MQTT client id: never one a node (a DNS label) could connect with
  assert.equal(relayConfigSchema.parse({}).broker.external.clientId, 'edgerelay');
  assert.equal(relayConfigSchema.parse({ broker: { external: { clientId: '_relay-2' } } }).broker.external.clientId, '_relay-2');
  for (const bad of ['relay-2', 'edgerelay-2', '_', '_a.b', `_${'x'.repeat(64)}`]) {
    assert.throws(() => parseRelayConfig({ broker: { external: { clientId: bad } } }, 'r.yaml'), /broker\.external\.clientId: must be edgerelay or start with _/, bad);
  }
});

test('the API listener over TLS: tlsFetch trusts the given CA only and carries the body of a DELETE; plain HTTP to it is dropped; upgrades without a handler get 404', async (t) => {
  const dir = tmpDir(t, 'ec-listen-');
  const pki = await openPki(parseRelayConfig({ dataDir: dir }), { now: new Date(), log: nullLogger(), hostname: 'box', interfaces: {} });
  const server = createApiServer({ tls: { cert: pki.serving.certPem, key: pki.serving.keyPem }, onRequest: (req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => res.end(`hello ${req.method}${body ? ` ${body}` : ''}`));
    },
  });
  const url = await listenApi(server, 0, '127.0.0.1');
  t.after(() => server.close());
  assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const res = await tlsFetch({ ca: pki.caPem })(`${url}/x`, { method: 'POST', body: 'b' });
  assert.equal(await res.text(), 'hello POST b');
  // a DELETE's body (DeleteOptions) arrives as its body, not as the start of a next request
  assert.equal(await (await tlsFetch({ ca: pki.caPem })(`${url}/x`, { method: 'DELETE', body: '{"gracePeriodSeconds":0}' })).text(), 'hello DELETE {"gracePeriodSeconds":0}');
  const refused = await tlsFetch()(`${url}/x`).then(() => 'accepted', (e: { cause?: { code?: string } }) => e.cause?.code);
  assert.match(String(refused), /SELF_SIGNED|UNABLE_TO_VERIFY/, 'not trusted without the CA');
  assert.equal(await (await tlsFetch({ insecureSkipVerify: true })(`${url}/y`)).text(), 'hello GET');
  const plain = await fetch(url.replace('https:', 'http:')).then(() => 'answered', (e: { cause?: { code?: string } }) => e.cause?.code ?? 'failed');
  assert.notEqual(plain, 'answered');
  const port = Number(new URL(url).port);
  const upgrade = await new Promise<string>((resolve) => {
    const s = tlsConnect({ port, host: '127.0.0.1', ca: pki.caPem, servername: 'localhost' }, () => s.write('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'));
    let got = '';
    s.on('data', (d) => (got += d));
    s.on('close', () => resolve(got));
  });
  assert.match(upgrade, /^HTTP\/1\.1 404 Not Found/);
});
