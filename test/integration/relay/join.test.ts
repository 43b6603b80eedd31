/**
 * `edgecore join` as a process against a relay process: the relay's CA is checked against the
 * pin printed by `edgerelay token` before the token is sent; the config gets the node's
 * credentials, the mqtts:// URL and the CA file. A wrong pin, a missing pin and plain http:// are
 * refused with nothing sent; an existing name is refused (409) until an admin allows a re-join.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { parse } from 'yaml';
import { caHashOf } from '../../../src/contract/join.js';
import { ROOT, tmpDir } from '../../helpers/tmp.js';
import { RelayProc, relayPorts, waitFor } from './harness.js';

const entry = (name: 'edgecore' | 'edgerelay', args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli', name, 'entry.ts'), ...args], { cwd: ROOT, encoding: 'utf8' });
const edgecore = (args: string[]) => entry('edgecore', args);

interface Written {
  log: unknown;
  node: { name: string };
  modules: { edgehub: { enabled: boolean; relay: { url: string; username: string; password: string; caFile: string } } };
}

test('edgecore join pins the relay CA, writes credentials, mqtts URL and CA; bad pins, tokens and names are refused', async (t) => {
  const dir = tmpDir(t, 'edgecore-join-');
  const ports = await relayPorts();
  const relay = new RelayProc({ dir, ports });
  t.after(() => relay.stop('SIGKILL'));
  await relay.start();
  const cfg = join(dir, 'node.yaml');
  writeFileSync(cfg, 'log: { level: warn }\n');

  // the whole join command, from the relay machine's CLI
  const printed = entry('edgerelay', ['token', '--config', relay.configFile, '--ttl', '600']);
  assert.equal(printed.status, 0, printed.stderr);
  const m = /^edgecore join --relay (https:\/\/127\.0\.0\.1:\d+) --token (ect\.\S+) --ca-hash (sha256:[0-9a-f]{64})\n$/.exec(printed.stdout);
  assert.ok(m, printed.stdout);
  const [, url, token, hash] = m;
  assert.equal(url, relay.api);
  assert.equal(hash, caHashOf(relay.caPem));

  const untouched = (): void => assert.equal(readFileSync(cfg, 'utf8'), 'log: { level: warn }\n', 'config untouched');
  const attempts = (): number => relay.proc!.count('join attempt');

  // a wrong pin: refused before the token goes anywhere (no join attempt reaches the relay)
  const wrongPin = `sha256:${'0'.repeat(64)}`;
  const pinned = edgecore(['join', '--relay', url!, '--token', token!, '--ca-hash', wrongPin, '--name', 'pi-1', '--config', cfg]);
  assert.equal(pinned.status, 1);
  assert.match(pinned.stderr, /the relay's CA does not match --ca-hash: it offered sha256:[0-9a-f]{64}, expected sha256:0{64}; nothing was sent/);
  const noPin = edgecore(['join', '--relay', url!, '--token', token!, '--name', 'pi-1', '--config', cfg]);
  assert.equal(noPin.status, 1);
  assert.match(noPin.stderr, /join needs --ca-hash/);
  const plain = edgecore(['join', '--relay', url!.replace('https:', 'http:'), '--token', token!, '--ca-hash', hash!, '--name', 'pi-1', '--config', cfg]);
  assert.equal(plain.status, 1);
  assert.match(plain.stderr, /is plain HTTP: the token and the node's password would cross the network in clear/);
  const badHash = edgecore(['join', '--relay', url!, '--token', token!, '--ca-hash', 'md5:abc', '--name', 'pi-1', '--config', cfg]);
  assert.match(badHash.stderr, /--ca-hash must be sha256: followed by 64 hex digits/);
  untouched();
  assert.equal(attempts(), 0, 'no join attempt reached the relay');
  assert.ok(!relay.proc!.lines.some((l) => l.includes(token!)), 'the token was never seen by the relay');

  const bad = edgecore(['join', '--relay', url!, '--token', 'ect.wrong', '--ca-hash', hash!, '--name', 'pi-1', '--config', cfg]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /join refused \(401\): bootstrap token unknown or expired/);
  untouched();

  const expired = (await relay.http<{ token: string }>('POST', '/edge/v1/tokens', { ttlSeconds: 1 })).token;
  const badName = edgecore(['join', '--relay', url!, '--token', token!, '--ca-hash', hash!, '--name', 'Not_A_Label', '--config', cfg]);
  assert.equal(badName.status, 1);
  assert.match(badName.stderr, /node: must be a DNS label/);

  const ok = edgecore(['join', '--relay', url!, '--token', token!, '--ca-hash', hash!, '--name', 'pi-1', '--config', cfg]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /joined as node "pi-1"/);
  const written = parse(readFileSync(cfg, 'utf8')) as Written;
  assert.deepEqual(written.log, { level: 'warn' }, 'other settings kept');
  assert.equal(written.node.name, 'pi-1');
  assert.equal(written.modules.edgehub.enabled, true);
  assert.equal(written.modules.edgehub.relay.username, 'pi-1');
  assert.equal(written.modules.edgehub.relay.url, `mqtts://127.0.0.1:${ports.mqtts}`);
  assert.ok(written.modules.edgehub.relay.password.length >= 24);
  assert.equal(written.modules.edgehub.relay.caFile, join(dir, 'node.relay-ca.crt'));
  assert.equal(readFileSync(written.modules.edgehub.relay.caFile, 'utf8'), relay.caPem, 'the pinned CA is written beside the config');
  assert.equal(statSync(cfg).mode & 0o777, 0o600);
  const nodes = await relay.http<{ items: { metadata: { name: string; labels: Record<string, string> } }[] }>('GET', '/api/v1/nodes');
  assert.deepEqual(nodes.items.map((n) => n.metadata.name), ['pi-1'], 'the join made its Node object');
  assert.equal(nodes.items[0]!.metadata.labels['node-role.kubernetes.io/edge'], '');

  // --ca-file instead of a pin
  const other = join(dir, 'other.yaml');
  const byFile = edgecore(['join', '--relay', url!, '--token', token!, '--ca-file', relay.caFile, '--name', 'pi-2', '--config', other]);
  assert.equal(byFile.status, 0, byFile.stderr);

  await new Promise((r) => setTimeout(r, 1100));
  const late = edgecore(['join', '--relay', url!, '--token', expired, '--ca-hash', hash!, '--name', 'pi-3', '--config', join(dir, 'late.yaml')]);
  assert.equal(late.status, 1, 'an expired token is refused');
  assert.ok(!existsSync(join(dir, 'late.yaml')));
});

test('re-joining an existing node name needs an admin: 409 Status until `edgerelay node allow-rejoin`, once', async (t) => {
  const dir = tmpDir(t, 'edgecore-rejoin-');
  const relay = new RelayProc({ dir, ports: await relayPorts() });
  t.after(() => relay.stop('SIGKILL'));
  await relay.start();
  const first = await relay.join('pi-1');
  const token = await relay.token();
  const rejoin = () => relay.fetch()(`${relay.api}/edge/v1/join`, { method: 'POST', body: JSON.stringify({ token, node: 'pi-1' }) });

  const refused = await rejoin();
  assert.equal(refused.status, 409);
  const status = (await refused.json()) as { kind: string; status: string; reason: string; code: number; message: string };
  assert.deepEqual([status.kind, status.status, status.reason, status.code], ['Status', 'Failure', 'AlreadyExists', 409]);
  assert.match(status.message, /node "pi-1" has already joined; a re-join needs an admin's consent first: edgerelay node allow-rejoin pi-1/);

  // the real node's credentials still work
  const connect = (password: string) => mqtt.connectAsync(first.brokerUrl, { clientId: 'pi-1', username: 'pi-1', password, ca: relay.caPem, reconnectPeriod: 0, connectTimeout: 5000 });
  const real = await connect(first.password);
  const closed = new Promise<void>((r) => real.once('close', () => r()));
  const allowed = entry('edgerelay', ['node', 'allow-rejoin', 'pi-1', '--config', relay.configFile]);
  assert.equal(allowed.status, 0, allowed.stderr);
  assert.match(allowed.stdout, /node "pi-1" may join again \(once\) until /);
  const again = await rejoin();
  assert.equal(again.status, 200, await again.clone().text());
  const j = (await again.json()) as { password: string };
  assert.notEqual(j.password, first.password, 'the re-join rotated the password');
  await closed; // the old session was closed by the relay
  await assert.rejects(connect(first.password), /Bad username or password|Not authorized/i, 'the old password is refused');
  await (await connect(j.password)).endAsync();
  assert.equal((await rejoin()).status, 409, 'the permission is used up');
  const audit = await waitFor('four audited attempts', () => {
    const a = relay.proc!.lines.filter((l) => l.includes('"msg":"join attempt"')).map((l) => (JSON.parse(l) as { outcome: string }).outcome);
    return a.length >= 4 ? a : undefined;
  });
  assert.deepEqual(audit, ['joined', 'AlreadyExists', 'rejoined', 'AlreadyExists']);
  const unknown = entry('edgerelay', ['node', 'allow-rejoin', 'nobody', '--config', relay.configFile]);
  assert.equal(unknown.status, 1);
  assert.match(unknown.stderr, /no node "nobody": a new name joins with a bootstrap token alone/);
});
