/** API tokens, the access policy, the join limiter, rejoin permissions and the admin helpers. */
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { allowRejoin, kubeconfigFor, localApiUrl, remoteApiUrl, rotateNode } from '../../../src/relay/admin.js';
import { hashPassword, LOCKED_PASSWORD_HASH, verifyPassword } from '../../../src/relay/auth.js';
import { parseRelayConfig } from '../../../src/relay/config.js';
import { mosquittoPasswordFile } from '../../../src/relay/mosquitto.js';
import { FailureLimiter, sourceKey } from '../../../src/relay/ratelimit.js';
import { SqliteCredentialStore } from '../../../src/relay/store/credentials-sqlite.js';
import { SqliteRelayStore } from '../../../src/relay/store/sqlite.js';
import { ApiTokens, tokenFile } from '../../../src/relay/tokens.js';
import { authorize, type Attributes, type Identity } from '../../../src/relay/apiserver/authz.js';
import { tmpDir } from '../../helpers/tmp.js';

test('tokens: generated on first open (0600), admin and read-only told apart, nothing else accepted', (t) => {
  const cfg = parseRelayConfig({ dataDir: tmpDir(t, 'ec-tok-') });
  const tokens = ApiTokens.open(cfg);
  const admin = tokens.token('admin');
  const ro = tokens.token('read-only');
  assert.match(admin, /^eca\.[A-Za-z0-9_-]{32}$/);
  assert.match(ro, /^ecr\.[A-Za-z0-9_-]{32}$/);
  assert.equal(statSync(tokenFile(cfg, 'admin')).mode & 0o777, 0o600);
  assert.equal(tokens.authenticate(`Bearer ${admin}`)?.user, 'admin');
  assert.equal(tokens.authenticate(`bearer   ${ro} `)?.user, 'read-only');
  for (const h of [undefined, '', 'Bearer', `Bearer ${admin}x`, `Bearer ${admin.slice(0, -1)}`, `Basic ${Buffer.from(`admin:${admin}`).toString('base64')}`, admin, `Bearer ${admin} ${ro}`]) {
    assert.equal(tokens.authenticate(h), undefined, String(h));
  }
  assert.equal(ApiTokens.open(cfg).token('admin'), admin, 'kept across opens');
});

test('tokens: a rotation by another process refuses the old token at the next request; configured tokens cannot be rotated', (t) => {
  const cfg = parseRelayConfig({ dataDir: tmpDir(t, 'ec-rot-'), api: { readOnlyToken: 'fixed-ro' } });
  const running = ApiTokens.open(cfg);
  const old = running.token('admin');
  assert.equal(running.authenticate(`Bearer ${old}`)?.user, 'admin');
  const fresh = ApiTokens.rotate(cfg, 'admin'); // as `edgerelay rotate admin-token` does, from outside
  assert.equal(running.authenticate(`Bearer ${old}`), undefined);
  assert.equal(running.authenticate(`Bearer ${fresh}`)?.user, 'admin');
  assert.equal(readFileSync(tokenFile(cfg, 'admin'), 'utf8'), `${fresh}\n`);
  assert.equal(running.authenticate('Bearer fixed-ro')?.user, 'read-only');
  assert.throws(() => ApiTokens.rotate(cfg, 'read-only'), /set in the config \(api\.readOnlyToken\)/);
  // an emptied token file matches nothing (not even an empty token)
  writeFileSync(tokenFile(cfg, 'admin'), '\n');
  assert.equal(running.authenticate(`Bearer ${fresh}`), undefined);
});

test('a token stands for the API server\'s identity, and its policy applies: read-only reads, never Secrets, tokens or exec', (t) => {
  const tokens = ApiTokens.open(parseRelayConfig({ dataDir: tmpDir(t, 'ec-pol-') }));
  const admin = tokens.authenticate(`Bearer ${tokens.token('admin')}`)!;
  const ro = tokens.authenticate(`Bearer ${tokens.token('read-only')}`)!;
  assert.deepEqual([admin.kind, admin.user, ro.kind, ro.user], ['admin', 'admin', 'read-only', 'read-only']);
  const may = (id: Identity, a: Partial<Attributes>): boolean => authorize(id, { group: '', resource: 'pods', verb: 'get', ...a }, undefined).allowed === true;
  for (const verb of ['create', 'update', 'patch', 'delete', 'deletecollection'] as const) {
    assert.ok(may(admin, { verb }));
    assert.ok(!may(ro, { verb }), verb);
  }
  for (const verb of ['get', 'list', 'watch'] as const) assert.ok(may(ro, { verb }));
  assert.ok(!may(ro, { resource: 'secrets' }));
  assert.ok(!may(ro, { verb: 'create', resource: 'tokens' }), 'bootstrap tokens');
  for (const sub of ['exec', 'attach', 'portforward']) assert.ok(!may(ro, { verb: 'create', subresource: sub }), sub);
});

test('join limiter: a burst of attempts, then refused with a wait; credits come back over time; successes refund', () => {
  let now = 0;
  const l = new FailureLimiter({ burst: 3, refillMs: 1000, maxSources: 2 }, () => now);
  for (let i = 0; i < 3; i++) assert.equal(l.take('a'), undefined);
  assert.equal(l.take('a'), 1);
  assert.equal(l.take('b'), undefined, 'sources are separate');
  now = 999;
  assert.equal(l.take('a'), 1);
  now = 1000;
  assert.equal(l.take('a'), undefined, 'one credit back');
  assert.equal(l.take('a'), 1);
  l.refund('a');
  assert.equal(l.take('a'), undefined, 'a refunded credit');
  now = 10_000;
  for (let i = 0; i < 3; i++) assert.equal(l.take('a'), undefined, 'refilled up to the burst');
  assert.equal(l.take('a'), 1);
  l.take('c');
  assert.equal(l.sources(), 2, 'bounded: the oldest source is forgotten');
});

test('sourceKey: IPv4 as is (also IPv4-mapped), IPv6 per /64', () => {
  assert.equal(sourceKey('10.1.2.3'), '10.1.2.3');
  assert.equal(sourceKey('::ffff:10.1.2.3'), '10.1.2.3');
  assert.equal(sourceKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(sourceKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
  assert.equal(sourceKey('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(sourceKey('::1'), '0:0:0:0::/64');
  assert.equal(sourceKey(undefined), 'unknown');
});

test('rejoin permissions are explicit, one-shot and expire; rotation locks the node out and bumps the revision', async (t) => {
  const dir = tmpDir(t, 'ec-rejoin-');
  const db = SqliteRelayStore.open(join(dir, 'r.db'));
  t.after(() => db.close());
  const store = new SqliteCredentialStore(db);
  const now = new Date('2030-01-01T00:00:00Z');
  await assert.rejects(allowRejoin(store, 'n1', 60, now), /no node "n1"/);
  await store.upsertNode('n1', hashPassword('pw'), {}, now);
  assert.equal(await store.takeRejoin('n1', now), false, 'nothing allowed by default');
  await allowRejoin(store, 'n1', 60, now);
  assert.equal(await store.takeRejoin('n1', new Date(now.getTime() + 61_000)), false, 'expired');
  await allowRejoin(store, 'n1', 60, now);
  assert.equal(await store.takeRejoin('n1', now), true);
  assert.equal(await store.takeRejoin('n1', now), false, 'used up');

  const rev = await store.credentialsRevision();
  await rotateNode(store, 'n1', 60, now);
  assert.ok((await store.credentialsRevision()) > rev);
  assert.equal((await store.getNode('n1'))!.passwordHash, LOCKED_PASSWORD_HASH);
  assert.equal(await verifyPassword('pw', LOCKED_PASSWORD_HASH), false);
  assert.equal(await store.takeRejoin('n1', now), true, 'a rotation allows the re-join');
  await assert.rejects(rotateNode(store, 'nobody', 60, now), /no node "nobody"/);
  assert.equal(mosquittoPasswordFile({ username: '_relay', passwordHash: 'H0' }, [{ username: 'n1', passwordHash: LOCKED_PASSWORD_HASH }]), '_relay:H0\n', 'a locked node has no mosquitto line');
  await allowRejoin(store, 'n1', 60, now);
  await store.deleteNode('n1');
  await store.upsertNode('n1', hashPassword('pw2'), {}, now);
  assert.equal(await store.takeRejoin('n1', now), false, 'deleting a node drops its permission');
});

test('kubeconfig and URLs: CA data, server, token, current context; local and remote defaults', () => {
  const cfg = parseRelayConfig({ api: { port: 8443 } });
  assert.equal(localApiUrl(cfg), 'https://127.0.0.1:8443');
  assert.equal(remoteApiUrl(cfg, { eth0: [{ address: '192.168.1.5', family: 'IPv4', internal: false, netmask: '', mac: '', cidr: null }] }), 'https://192.168.1.5:8443');
  assert.equal(remoteApiUrl(parseRelayConfig({ api: { publicUrl: 'https://relay.example:443' } })), 'https://relay.example:443');
  assert.equal(localApiUrl(parseRelayConfig({ api: { host: '::1', tls: { enabled: false } } })), 'http://[::1]:8080');
  const kc = parse(kubeconfigFor({ server: 'https://127.0.0.1:8443', caPem: 'PEM', token: 'ecr.x', user: 'read-only' })) as Record<string, unknown>;
  assert.deepEqual(kc, {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'edgerelay', cluster: { server: 'https://127.0.0.1:8443', 'certificate-authority-data': Buffer.from('PEM').toString('base64') } }],
    users: [{ name: 'edgerelay-read-only', user: { token: 'ecr.x' } }],
    contexts: [{ name: 'edgerelay-read-only', context: { cluster: 'edgerelay', user: 'edgerelay-read-only', namespace: 'default' } }],
    'current-context': 'edgerelay-read-only',
    preferences: {},
  });
});
