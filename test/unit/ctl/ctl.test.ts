import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ObjectView } from '../../../src/contract/api.js';
import { readManifests, parseManifestText } from '../../../src/ctl/manifests.js';
import { age, objectTable, table } from '../../../src/ctl/printers.js';
import { resolveSettings } from '../../../src/ctl/settings.js';
import { tmpDir } from '../../helpers/tmp.js';

test('tables are aligned like kubectl', () => {
  assert.equal(table(['NAME', 'STATUS'], [['a', 'Ready'], ['longer-name', 'NotReady']]), 'NAME          STATUS\na             Ready\nlonger-name   NotReady\n');
});

test('ages', () => {
  const now = new Date('2026-01-02T00:00:00Z');
  assert.equal(age('2026-01-01T23:59:30Z', now), '30s');
  assert.equal(age('2026-01-01T23:00:00Z', now), '60m');
  assert.equal(age('2026-01-01T00:00:00Z', now), '24h');
  assert.equal(age('2025-12-20T00:00:00Z', now), '13d');
  assert.equal(age(null, now), '<none>');
});

test('pod rows take READY/STATUS/RESTARTS from the reported status', () => {
  const now = new Date('2026-01-01T00:01:00Z');
  const o: ObjectView = {
    kind: 'Pod', namespace: 'default', name: 'web', node: 'n1', uid: 'u', generation: 1,
    manifest: { spec: { containers: [{}, {}] } }, createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z',
    reported: [{ node: 'n1', desiredVersion: 3, updatedAt: '2026-01-01T00:00:30Z', status: { phase: 'Running', podIP: '172.17.0.2', containerStatuses: [{ ready: true, restartCount: 1 }, { ready: false, restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff' } } }] } }],
  };
  const out = objectTable('Pod', [o], { wide: true, allNamespaces: true, now });
  assert.match(out, /^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE$/m);
  assert.match(out, /^default\s+web\s+1\/2\s+CrashLoopBackOff\s+3\s+60s\s+172\.17\.0\.2\s+n1$/m);
  const pending = objectTable('Pod', [{ ...o, reported: [] }], { wide: false, allNamespaces: false, now });
  assert.match(pending, /^web\s+0\/2\s+Pending\s+0\s+60s$/m);
  const deleting = objectTable('Pod', [{ ...o, manifest: { ...o.manifest, metadata: { deletionTimestamp: '2026-01-01T00:00:50Z' } } }], { wide: false, allNamespaces: false, now });
  assert.match(deleting, /^web\s+1\/2\s+Terminating\s+3\s+60s$/m);
});

test('manifests: multi-document YAML, folders, Lists, and errors with file and line', (t) => {
  const dir = tmpDir(t);
  mkdirSync(join(dir, 'd'));
  writeFileSync(join(dir, 'd', 'b.yaml'), 'kind: ConfigMap\nmetadata: {name: b}\n---\nkind: Secret\nmetadata: {name: s}\n');
  writeFileSync(join(dir, 'd', 'a.yml'), 'kind: ConfigMap\nmetadata: {name: a}\n');
  writeFileSync(join(dir, 'd', 'ignored.txt'), 'x');
  const docs = readManifests(join(dir, 'd'), () => '');
  assert.deepEqual(docs.map((d) => (d.object as { metadata: { name: string } }).metadata.name), ['a', 'b', 's']);
  assert.match(docs[1]!.source, /b\.yaml#1$/);
  assert.equal(readManifests('-', () => 'kind: Pod\n').length, 1);
  assert.equal(parseManifestText('kind: List\nitems: [{kind: Pod}, {kind: Secret}]\n', 'x').length, 2);
  assert.throws(() => parseManifestText('a: [1\n', 'bad.yaml'), (e: Error) => /^bad\.yaml: line \d+, column \d+: \S/.test(e.message) && !/ at line|\n/.test(e.message));
  assert.throws(() => readManifests(join(dir, 'missing.yaml'), () => ''), (e: Error) => e.message === `${join(dir, 'missing.yaml')}: no such file or directory`);
});

test('server and token: flags over env over config file; missing ones explained', (t) => {
  const dir = tmpDir(t);
  const f = join(dir, 'c.yaml');
  writeFileSync(f, 'server: http://file\ntoken: ftok\n');
  assert.deepEqual(resolveSettings({ configFile: f, env: {} }), { server: 'http://file', token: 'ftok', caFile: '', source: f });
  writeFileSync(f, 'server: https://file\ntoken: ftok\ncaFile: /etc/ca.crt\n');
  assert.equal(resolveSettings({ configFile: f, env: {} }).caFile, '/etc/ca.crt');
  assert.equal(resolveSettings({ configFile: f, env: { EDGECTL_CA_FILE: '/env.crt' } }).caFile, '/env.crt');
  assert.equal(resolveSettings({ configFile: f, caFile: '/flag.crt', env: { EDGECTL_CA_FILE: '/env.crt' } }).caFile, '/flag.crt');
  writeFileSync(f, 'server: http://file\ntoken: ftok\n');
  assert.equal(resolveSettings({ configFile: f, env: { EDGECTL_SERVER: 'http://env' } }).server, 'http://env');
  assert.equal(resolveSettings({ configFile: f, server: 'http://flag', env: { EDGECTL_SERVER: 'http://env' } }).server, 'http://flag');
  assert.throws(() => resolveSettings({ env: {}, home: dir, cwd: dir }), /no relay server: pass --server URL, set EDGECTL_SERVER/);
  assert.throws(() => resolveSettings({ env: { EDGECTL_SERVER: 'x' }, home: dir, cwd: dir }), /no admin token/);
  // the demo's file in the checkout, then the home file
  mkdirSync(join(dir, 'co', '.edgecore'), { recursive: true });
  writeFileSync(join(dir, 'co', '.edgecore', 'edgectl.yaml'), 'server: http://demo\ntoken: d\n');
  assert.equal(resolveSettings({ env: {}, home: dir, cwd: join(dir, 'co') }).server, 'http://demo');
  assert.throws(() => resolveSettings({ configFile: join(dir, 'none.yaml'), env: {} }), (e: Error) => e.message === `config file ${join(dir, 'none.yaml')} not found`);
  // outside the checkout: the demo's file beside the running dist/edgectl.js
  assert.equal(resolveSettings({ env: {}, home: dir, cwd: dir, script: join(dir, 'co', 'dist', 'edgectl.js') }).server, 'http://demo');
  writeFileSync(join(dir, 'typo.yaml'), 'server: http://x\ntokn: t\n');
  assert.throws(() => resolveSettings({ configFile: join(dir, 'typo.yaml'), env: {} }), /typo\.yaml is invalid: tokn: unknown field/);
});
