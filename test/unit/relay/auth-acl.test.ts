import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { nodeMayPublish, nodeMayUse, parseNodeTopic, topics } from '../../../src/contract/topics.js';
import { hashPassword, verifyPassword } from '../../../src/relay/auth.js';
import { mosquittoAclFile, mosquittoPasswordFile } from '../../../src/relay/mosquitto.js';

test('a node may use only its own subtree', () => {
  assert.ok(nodeMayUse('a', topics.desired('a')));
  assert.ok(nodeMayUse('a', 'edgecore/v1/nodes/a/#'));
  assert.ok(!nodeMayUse('a', topics.desired('b')));
  assert.ok(!nodeMayUse('a', 'edgecore/v1/nodes/+/desired'));
  assert.ok(!nodeMayUse('a', 'edgecore/v1/nodes/#'));
  assert.ok(!nodeMayUse('a', '#'));
  assert.ok(!nodeMayUse('a', 'edgecore/v1/nodes/ab/desired'), 'prefix of another name');
  assert.ok(!nodeMayUse('a', 'edgecore/v1/nodes/a'), 'the root itself is not a topic of the node');
});

test('a node publishes only its uplink channels, retained only presence: never its own desired document', () => {
  for (const t of [topics.sync('a'), topics.reportedState('a'), topics.reportedTelemetry('a'), topics.heartbeat('a'), topics.rpcResponse('a'), topics.presence('a'), topics.streamUp('a'), topics.appUp('a'), topics.appAck('a')]) {
    assert.ok(nodeMayPublish('a', t, false), t);
  }
  assert.ok(!nodeMayPublish('a', topics.appDown('a'), false), 'messages for apps come from the relay');
  assert.ok(!nodeMayPublish('a', topics.appRoutes('a'), false), 'a node never writes its own routes and quota');
  assert.ok(!nodeMayPublish('a', topics.appUp('a'), true), 'a retained app message would be replayed');
  assert.ok(!nodeMayPublish('a', topics.appUp('b'), false), "another node's app channel");
  assert.ok(nodeMayPublish('a', topics.presence('a'), true), 'birth and Last Will are retained');
  assert.ok(!nodeMayPublish('a', topics.desired('a'), false), 'desired flows only from the relay');
  assert.ok(!nodeMayPublish('a', topics.desired('a'), true));
  assert.ok(!nodeMayPublish('a', topics.rpcRequest('a'), false));
  assert.ok(!nodeMayPublish('a', topics.streamDown('a'), false), 'stream frames to the node come from the relay');
  assert.ok(!nodeMayPublish('a', topics.streamUp('a'), true));
  assert.ok(!nodeMayPublish('a', topics.reportedState('a'), true), 'a retained report would be replayed to the relay');
  assert.ok(!nodeMayPublish('a', topics.heartbeat('a'), true));
  assert.ok(!nodeMayPublish('a', topics.reportedState('b'), false), "another node's channel");
  assert.ok(!nodeMayPublish('a', 'edgecore/v1/nodes/a/other', false));
  assert.ok(!nodeMayPublish('a', 'edgecore/v1/nodes/a/reported/state/x', false));
});

test('contract topics parse back into node and channel', () => {
  assert.deepEqual(parseNodeTopic(topics.reportedState('n1')), { node: 'n1', channel: 'reported/state' });
  assert.deepEqual(parseNodeTopic(topics.rpcResponse('n1')), { node: 'n1', channel: 'rpc/response' });
  assert.equal(parseNodeTopic('edgecore/v1/nodes/n1/other'), undefined);
  assert.equal(parseNodeTopic('elsewhere/n1/desired'), undefined);
});

test('password hashes verify, and wrong passwords do not', async () => {
  const h = hashPassword('s3cret');
  assert.match(h, /^\$7\$1000\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
  assert.ok(await verifyPassword('s3cret', h));
  assert.ok(!(await verifyPassword('s3cret ', h)));
  assert.ok(!(await verifyPassword('s3cret', 'plain')));
});

test('hashes are mosquitto $7$ hashes (checked against mosquitto_passwd when installed)', async (t) => {
  if (!existsSync('/usr/bin/mosquitto_passwd')) return t.skip('skipped: mosquitto_passwd not installed');
  const dir = mkdtempSync(join(tmpdir(), 'ec-pw-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const f = join(dir, 'pw');
  execFileSync('mosquitto_passwd', ['-c', '-b', f, 'u', 'pass-word']);
  const theirs = readFileSync(f, 'utf8').trim().split(':')[1]!;
  assert.ok(await verifyPassword('pass-word', theirs), 'our verifier accepts a mosquitto hash');
  assert.ok(!(await verifyPassword('other', theirs)));
});

test('mosquitto files: relay account first, one line per node, pattern ACL', () => {
  const pw = mosquittoPasswordFile({ username: '_relay', passwordHash: 'H0' }, [{ username: 'n1', passwordHash: 'H1' }]);
  assert.equal(pw, '_relay:H0\nn1:H1\n');
  assert.throws(() => mosquittoPasswordFile({ username: 'a:b', passwordHash: 'x' }, []), /cannot appear/);
  const acl = mosquittoAclFile('_relay');
  assert.match(acl, /^user _relay\ntopic readwrite edgecore\/v1\/nodes\/#$/m);
  assert.match(acl, /^pattern read edgecore\/v1\/nodes\/%u\/#$/m);
  assert.deepEqual(
    acl.split('\n').filter((l) => l.startsWith('pattern write')),
    ['sync', 'reported/state', 'reported/telemetry', 'presence', 'heartbeat', 'rpc/response', 'stream/up', 'mesh/request', 'app/up', 'app/ack'].map((c) => `pattern write edgecore/v1/nodes/%u/${c}`),
  );
  assert.doesNotMatch(acl, /readwrite edgecore\/v1\/nodes\/%u|%u\/desired|%u\/app\/(down|routes)/, 'no node may write its desired document, its app downlink or its routes');
  const withConsumer = mosquittoAclFile('_relay', [{ username: 'app.ingest', namespaces: ['plant'] }]);
  assert.match(withConsumer, /^user app\.ingest\ntopic read edgecore\/v1\/apps\/plant\/up\/#\ntopic write edgecore\/v1\/apps\/plant\/down\/#$/m, 'a consumer reads and writes only its namespaces');
});
