/** `edgecore join` as a process against a relay process: the config gets the node's credentials. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { ROOT, tmpDir } from '../../helpers/tmp.js';
import { freePort, RelayProc } from './harness.js';

const edgecore = (args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/edgecore/entry.ts'), ...args], { cwd: ROOT, encoding: 'utf8' });

test('edgecore join writes the credentials into the config; bad tokens and names are refused', async (t) => {
  const dir = tmpDir(t, 'edgecore-join-');
  const relay = new RelayProc({ dir, ports: { api: await freePort(), mqtt: await freePort(), ws: await freePort() } });
  t.after(() => relay.stop('SIGKILL'));
  await relay.start();
  const cfg = join(dir, 'node.yaml');
  writeFileSync(cfg, 'log: { level: warn }\n');

  const bad = edgecore(['join', '--relay', relay.api, '--token', 'ect.wrong', '--name', 'pi-1', '--config', cfg]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /join refused \(401\): bootstrap token unknown or expired/);
  assert.equal(readFileSync(cfg, 'utf8'), 'log: { level: warn }\n', 'config untouched');

  const expired = (await relay.http<{ token: string }>('POST', '/edge/v1/tokens', { ttlSeconds: 1 })).token;
  const token = await relay.token();
  const badName = edgecore(['join', '--relay', relay.api, '--token', token, '--name', 'Not_A_Label', '--config', cfg]);
  assert.equal(badName.status, 1);
  assert.match(badName.stderr, /node: must be a DNS label/);

  const ok = edgecore(['join', '--relay', relay.api, '--token', token, '--name', 'pi-1', '--config', cfg]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /joined as node "pi-1"/);
  const written = parse(readFileSync(cfg, 'utf8')) as { log: unknown; node: { name: string }; modules: { edgehub: { enabled: boolean; relay: { url: string; username: string; password: string } } } };
  assert.deepEqual(written.log, { level: 'warn' }, 'other settings kept');
  assert.equal(written.node.name, 'pi-1');
  assert.equal(written.modules.edgehub.enabled, true);
  assert.equal(written.modules.edgehub.relay.username, 'pi-1');
  assert.match(written.modules.edgehub.relay.url, /^mqtt:\/\/127\.0\.0\.1:\d+$/);
  assert.ok(written.modules.edgehub.relay.password.length >= 24);
  assert.equal(statSync(cfg).mode & 0o777, 0o600);
  const nodes = await relay.http<{ items: { metadata: { name: string; labels: Record<string, string> } }[] }>('GET', '/api/v1/nodes');
  assert.deepEqual(nodes.items.map((n) => n.metadata.name), ['pi-1'], 'the join made its Node object');
  assert.equal(nodes.items[0]!.metadata.labels['node-role.kubernetes.io/edge'], '');

  await new Promise((r) => setTimeout(r, 1100));
  const late = edgecore(['join', '--relay', relay.api, '--token', expired, '--name', 'pi-2', '--config', join(dir, 'other.yaml')]);
  assert.equal(late.status, 1, 'an expired token is refused');
});
