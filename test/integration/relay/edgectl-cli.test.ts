/** edgectl as a process: stdout for results, stderr + non-zero exit for every kind of error. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, tmpDir } from '../../helpers/tmp.js';
import { ADMIN, freePort, RelayProc, relayPorts } from './harness.js';

test('edgectl: results on stdout, errors on stderr with non-zero exit codes', async (t) => {
  const dir = tmpDir(t, 'edgecore-ctl-');
  const relay = new RelayProc({ dir, ports: await relayPorts() });
  t.after(() => relay.stop('SIGKILL'));
  await relay.start();
  const ctl = (args: string[], env: Record<string, string> = {}, input?: string) =>
    spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), join(ROOT, 'src/cli/edgectl/entry.ts'), ...args], {
      cwd: dir,
      encoding: 'utf8',
      input,
      env: { PATH: process.env.PATH ?? '', HOME: dir, EDGECTL_SERVER: relay.api, EDGECTL_TOKEN: ADMIN, EDGECTL_CA_FILE: relay.caFile, ...env },
    });

  const good = ctl(['apply', '-f', '-'], {}, 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a }\ndata: { k: v }\n');
  assert.equal(good.status, 0, good.stderr);
  assert.equal(good.stdout, 'configmap/a created\n');
  assert.equal(good.stderr, '');

  const f = join(dir, 'mixed.yaml');
  writeFileSync(f, 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a }\ndata: { k: v }\n---\napiVersion: v1\nkind: Secret\nmetadata: { name: s }\ntype: Weird\n');
  const mixed = ctl(['apply', '-f', f]);
  assert.equal(mixed.status, 1);
  assert.equal(mixed.stdout, 'configmap/a unchanged\n');
  assert.match(mixed.stderr, /^error: .*mixed\.yaml#2: Secret .*type/m);

  const table = ctl(['get', 'configmaps']);
  assert.equal(table.status, 0);
  assert.match(table.stdout, /^NAME\s+DATA\s+AGE\na\s+1\s+\d+s\n$/);

  const wrongToken = ctl(['get', 'nodes'], { EDGECTL_TOKEN: 'nope' });
  assert.equal(wrongToken.status, 1);
  assert.match(wrongToken.stderr, /missing or wrong token/);
  assert.equal(wrongToken.stdout, '');

  const unreachable = ctl(['get', 'nodes'], { EDGECTL_SERVER: `http://127.0.0.1:${await freePort()}` });
  assert.equal(unreachable.status, 1);
  assert.match(unreachable.stderr, /cannot reach the relay at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);

  // the relay is verified: without its CA (system CAs only) edgectl refuses to talk to it
  const noCa = ctl(['get', 'nodes'], { EDGECTL_CA_FILE: '' });
  assert.equal(noCa.status, 1);
  assert.match(noCa.stderr, /cannot reach the relay at https:\/\/127\.0\.0\.1:\d+: \w*(CERT|SIGN|VERIFY)\w* \(the relay's CA: --ca-file/);

  const tok = ctl(['token', 'create', '--ttl', '60']);
  assert.equal(tok.status, 0, tok.stderr);
  assert.match(tok.stdout, /^edgecore join --relay https:\/\/127\.0\.0\.1:\d+ --token ect\.\S+ --ca-hash sha256:[0-9a-f]{64}\n$/);

  const usage = ctl(['get']);
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /a resource type is required/);

  const noServer = ctl(['get', 'nodes'], { EDGECTL_SERVER: '' });
  assert.equal(noServer.status, 1);
  assert.match(noServer.stderr, /no relay server/);

  const missing = ctl(['delete', 'configmap', 'zzz']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /ConfigMap "default\/zzz" not found/);
  const del = ctl(['delete', 'cm', 'a']);
  assert.equal(del.stdout, 'configmap "a" deleted\n');
});
