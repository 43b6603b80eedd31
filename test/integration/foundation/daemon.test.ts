/** `edgecore` as a real process: version, defaults, check, run → ready → SIGTERM → exit 0, bad config. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { bundlePath, startProcess } from '../../helpers/bundle.js';
import { tmpDir } from '../../helpers/tmp.js';

function edgecore(args: string[]) {
  return spawnSync(process.execPath, [bundlePath('edgecore'), ...args], { encoding: 'utf8' });
}

/** A config for a test daemon: private data dir, ephemeral ports, Docker-free unless asked. */
export function testConfig(dir: string, extra: Record<string, unknown> = {}): string {
  const file = join(dir, 'edgecore.yaml');
  const cfg = {
    node: { name: 'test-node' },
    dataDir: join(dir, 'data'),
    log: { level: 'info', format: 'json' },
    shutdownTimeoutSeconds: 5,
    ops: { port: 0 },
    modules: {
      metamanager: { api: { port: 0 } },
      eventbus: { port: 0 },
      edged: { enabled: false, staticPodPath: join(dir, 'manifests') },
      devicetwin: { enabled: false },
      ...extra,
    },
  };
  writeFileSync(file, JSON.stringify(cfg));
  return file;
}

test('--version prints the package version; --help exits 0; no command is a usage error', () => {
  const pkg = JSON.parse(spawnSync('cat', ['package.json'], { encoding: 'utf8' }).stdout) as { version: string };
  const v = edgecore(['--version']);
  assert.equal(v.status, 0);
  assert.equal(v.stdout.trim(), pkg.version);
  assert.equal(edgecore(['--help']).status, 0);
  assert.equal(edgecore([]).status, 2);
  const bad = edgecore(['frobnicate']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown command "frobnicate"/);
});

test('config --defaults prints a complete, valid config', (t) => {
  const r = edgecore(['config', '--defaults']);
  assert.equal(r.status, 0);
  const cfg = parse(r.stdout) as { modules: Record<string, unknown>; paths: Record<string, unknown> };
  assert.deepEqual(Object.keys(cfg.modules).sort(), ['devicetwin', 'edged', 'edgehub', 'eventbus', 'mesh', 'metamanager', 'nodestatus', 'servicebus']);
  assert.ok(cfg.paths.dockerSocket);
  const file = join(tmpDir(t), 'd.yaml');
  writeFileSync(file, r.stdout);
  assert.equal(edgecore(['config', '--validate', file]).status, 0);
});

test('a bad config is refused with the field path and exit code 78, before anything starts', (t) => {
  const dir = tmpDir(t);
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, `dataDir: ${join(dir, 'data')}\nmodules:\n  edged:\n    resyncSecs: 5\n  eventbus:\n    port: 99999\n`);
  const r = edgecore(['run', '--config', file]);
  assert.equal(r.status, 78);
  assert.match(r.stderr, /modules\.edged\.resyncSecs: unknown field/);
  assert.match(r.stderr, /modules\.eventbus\.port: /);
  assert.throws(() => statSync(join(dir, 'data')), /ENOENT/, 'nothing was created');
  const missing = edgecore(['run', '--config', join(dir, 'nope.yaml')]);
  assert.equal(missing.status, 78);
  assert.match(missing.stderr, /config file \S*nope\.yaml not found/);
});

test('run starts every enabled module, reports ready, and SIGTERM stops them in reverse order with exit 0', async (t) => {
  const dir = tmpDir(t);
  const p = startProcess('edgecore', ['run', '--config', testConfig(dir)]);
  t.after(() => p.child.kill('SIGKILL'));
  await p.waitFor(/"msg":"edgecore ready"/);
  const started = [...p.output().matchAll(/"logger":"edgecore\.(\w+)","msg":"module started"/g)].map((m) => m[1]);
  assert.deepEqual(started, ['metamanager', 'eventbus', 'nodestatus']);
  assert.match(p.output(), /"msg":"module disabled","module":"edged"/);
  const db = join(dir, 'data', 'edgecore.db');
  assert.equal(statSync(db).mode & 0o777, 0o600);
  p.child.kill('SIGTERM');
  const { code } = await p.exited;
  assert.equal(code, 0);
  const stopped = [...p.output().matchAll(/"msg":"module stopped","module":"(\w+)"/g)].map((m) => m[1]);
  assert.deepEqual(stopped, ['nodestatus', 'eventbus', 'metamanager']);
});

test('a SIGTERM while the node is still starting stops it gracefully once it is up (handlers are in before READY)', async (t) => {
  const dir = tmpDir(t);
  const p = startProcess('edgecore', ['run', '--config', testConfig(dir)]);
  t.after(() => p.child.kill('SIGKILL'));
  // "edgecore starting" is logged before any module starts: the signal lands mid-start
  await p.waitFor(/"msg":"edgecore starting"/);
  p.child.kill('SIGTERM');
  const { code, signal } = await p.exited;
  assert.equal(signal, null, `killed by ${signal} (Node's default action): the handler was not installed yet`);
  assert.equal(code, 0);
  assert.match(p.output(), /"msg":"signal received","signal":"SIGTERM"/);
  assert.match(p.output(), /"msg":"edgecore stopped"/);
});

test('edgerelay: a SIGTERM the moment it says ready stops it gracefully with exit 0', async (t) => {
  const dir = tmpDir(t);
  const p = startProcess('edgerelay', ['run', '--data-dir', join(dir, 'relay'), '--api-port', '0', '--mqtts-port', '0', '--mqtt-port', '0', '--ws-port', '0']);
  t.after(() => p.child.kill('SIGKILL'));
  await p.waitFor(/edgerelay ready/);
  p.child.kill('SIGTERM');
  const { code, signal } = await p.exited;
  assert.equal(signal, null);
  assert.equal(code, 0);
  assert.match(p.output(), /signal received/);
});
