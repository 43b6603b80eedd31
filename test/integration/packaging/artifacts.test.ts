/**
 * The field artifacts of every target, as shipped: checksums, layout, binaries for the right
 * machine, and — under qemu-user for the ARM targets — the shipped Node runtime running the
 * bundle (`edgecore --version`), loading every native addon, and the daemon opening its SQLite
 * store and answering /healthz. (qemu-user cannot exercise I2C/GPIO ioctls: that is the HIL
 * suite's job in the emulated arm64 VM.)
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { tmpDir, ROOT } from '../../helpers/tmp.js';
import { BUILD_TOOLS, ensureArtifacts, LAUNCHER, NODE_ARCH, PACKAGE_VERSION, needTools, sh, sha256, TARGETS, type BuildInfo, type Target } from './helpers.js';

const ELF_MACHINE: Record<Target, number> = { 'linux-arm64': 183, 'linux-armv7': 40, 'linux-x64': 62 };
const ADDON_FILES = ['better_sqlite3.node', 'bindings.node', 'epoll.node', 'i2c.node'];

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

function elfMachine(file: string): number {
  const b = readFileSync(file).subarray(0, 20);
  assert.equal(b.readUInt32BE(0), 0x7f454c46, `${file} is not ELF`);
  return b.readUInt16LE(18);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Loads every runtime package from the artifact's lib/ and round-trips a WAL SQLite file. */
const PROBE = `
const { createRequire } = require('node:module');
const [dir, dbFile, mode] = process.argv.slice(2);
const req = createRequire(dir + '/lib/');
const Database = req('better-sqlite3');
if (mode === 'store') {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all().map((r) => r.name);
  const integrity = db.pragma('integrity_check', { simple: true });
  db.close();
  console.log(JSON.stringify({ tables, integrity }));
} else {
  const db = new Database(dbFile);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (x INTEGER)');
  db.prepare('INSERT INTO t VALUES (?)').run(42);
  const row = db.prepare('SELECT x, sqlite_version() AS v FROM t').get();
  db.close();
  const loaded = ['i2c-bus', 'epoll', 'onoff', '@serialport/bindings-cpp', 'serialport'].filter((m) => req(m));
  console.log(JSON.stringify({ arch: process.arch, node: process.version, row, loaded }));
}
`;

function nodeCmd(target: Target, dir: string, args: string[]): [string, string[]] {
  const l = LAUNCHER[target].split(' ').filter(Boolean);
  return l.length ? [l[0]!, [...l.slice(1), join(dir, 'node/bin/node'), ...args]] : [join(dir, 'node/bin/node'), args];
}

let builds: Record<string, BuildInfo> = {};
let buildError: unknown;

describe('packaging: field artifacts', () => {
  before(() => {
    try {
      builds = ensureArtifacts('all');
    } catch (e) {
      buildError = e;
    }
  });

  for (const target of TARGETS) {
    test(`${target}: tarball, checksums, layout and binaries for the target`, async (t) => {
      if (!(await needTools(t, [...BUILD_TOOLS, 'sha256sum']))) return;
      if (buildError) throw buildError;
      const info = builds[target]!;
      const outDir = join(ROOT, 'builds', target);
      const tgz = join(outDir, info.tarball);
      assert.equal(info.tarball, `edgecore-${PACKAGE_VERSION}-${target}.tar.gz`);
      const sidecar = readFileSync(`${tgz}.sha256`, 'utf8');
      assert.equal(sidecar, `${sha256(tgz)}  ${info.tarball}\n`);
      assert.ok(existsSync(join(outDir, 'install.sh')), 'install.sh beside the tarball');

      const tmp = tmpDir(t, 'edgecore-pkg-art-');
      assert.equal(sh('tar', ['-xzf', tgz, '-C', tmp]).status, 0);
      const dir = join(tmp, `edgecore-${PACKAGE_VERSION}-${target}`);
      const sums = sh('sha256sum', ['--check', '--strict', '--quiet', 'SHA256SUMS'], { cwd: dir });
      assert.equal(sums.status, 0, sums.out);
      const listed = readFileSync(join(dir, 'SHA256SUMS'), 'utf8').trim().split('\n').map((l) => l.slice(66)).sort();
      const present = walk(dir).map((f) => `./${relative(dir, f)}`).filter((f) => f !== './SHA256SUMS').sort();
      assert.deepEqual(listed, present, 'SHA256SUMS covers every file');

      const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
      assert.equal(manifest.version, PACKAGE_VERSION);
      assert.equal(manifest.target, target);
      for (const f of ['install.sh', 'bin/edgecore', 'bin/edgectl', 'bin/edgerelay', 'bin/kubectl-edge', 'lib/kubectl-edge.js', 'lib/edgecore.js', 'systemd/edgecore.service', 'systemd/edgerelay.service']) {
        assert.ok(existsSync(join(dir, f)), `${f} in the artifact`);
      }
      assert.ok(statSync(join(dir, 'install.sh')).mode & 0o100, 'install.sh executable');

      assert.equal(elfMachine(join(dir, 'node/bin/node')), ELF_MACHINE[target], 'node for the target');
      const addons = walk(join(dir, 'lib/node_modules')).filter((f) => f.endsWith('.node'));
      assert.deepEqual(addons.map((f) => f.split('/').pop()).sort(), ADDON_FILES);
      for (const a of addons) assert.equal(elfMachine(a), ELF_MACHINE[target], `${relative(dir, a)} for the target`);
      const junk = walk(dir).filter((f) => /\.(c|cc|cpp|h|gyp|o|a)$/.test(f) || f.includes('/prebuilds/') || f.includes('/deps/') || f.includes('/obj.target/'));
      assert.deepEqual(junk, [], 'only runtime files');
    });

    test(`${target}: the shipped Node runs the bundle, loads the addons and the daemon opens its store`, async (t) => {
      const tools = LAUNCHER[target] ? [LAUNCHER[target].split(' ')[0]!] : [];
      if (!(await needTools(t, [...BUILD_TOOLS, ...tools]))) return;
      if (buildError) throw buildError;
      const tmp = tmpDir(t, 'edgecore-pkg-run-');
      assert.equal(sh('tar', ['-xzf', join(ROOT, 'builds', target, builds[target]!.tarball), '-C', tmp]).status, 0);
      const dir = join(tmp, `edgecore-${PACKAGE_VERSION}-${target}`);
      const env = { ...process.env, EDGECORE_NODE_LAUNCHER: LAUNCHER[target] };

      const version = sh(join(dir, 'bin/edgecore'), ['--version'], { env });
      assert.equal(version.status, 0, version.out);
      assert.equal(version.stdout.trim(), PACKAGE_VERSION);
      // edgectl as the kubectl plugin: its launcher runs the same bundle under the plugin's name
      const plugin = sh(join(dir, 'bin/kubectl-edge'), ['--help'], { env });
      assert.equal(plugin.status, 0, plugin.out);
      assert.match(plugin.stdout, /^ {2}kubectl edge twin get DEVICE/m);

      writeFileSync(join(tmp, 'probe.cjs'), PROBE);
      const [cmd, args] = nodeCmd(target, dir, [join(tmp, 'probe.cjs'), dir, join(tmp, 'probe.db')]);
      const probe = sh(cmd, args);
      assert.equal(probe.status, 0, probe.out);
      const p = JSON.parse(probe.stdout.trim().split('\n').pop()!);
      assert.equal(p.arch, NODE_ARCH[target]);
      assert.equal(p.row.x, 42);
      assert.deepEqual(p.loaded, ['i2c-bus', 'epoll', 'onoff', '@serialport/bindings-cpp', 'serialport']);

      // the real daemon (store + metamanager), run from the artifact's launcher; health on its ops endpoint
      const port = await freePort();
      const data = join(tmp, 'data');
      writeFileSync(
        join(tmp, 'edgecore.yaml'),
        [
          'node: { name: pkg-artifact-test }',
          `dataDir: ${data}`,
          'log: { level: info }',
          `ops: { port: ${port} }`,
          'modules:',
          '  metamanager: { api: { port: 0 } }',
          '  edged: { enabled: false }',
          '  devicetwin: { enabled: false }',
          '  eventbus: { enabled: false }',
          '  edgehub: { enabled: false }',
          '',
        ].join('\n'),
      );
      const daemon = spawn(join(dir, 'bin/edgecore'), ['run', '--config', join(tmp, 'edgecore.yaml')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let log = '';
      daemon.stdout.on('data', (d) => (log += d));
      daemon.stderr.on('data', (d) => (log += d));
      const exited = new Promise<number | null>((resolve) => daemon.on('exit', (code) => resolve(code)));
      t.after(() => daemon.kill('SIGKILL'));
      let healthy = false;
      // the bound only ends a failing wait: under qemu-user on a busy machine the start is slow
      const end = Date.now() + 5 * 60_000;
      while (!healthy && daemon.exitCode === null && Date.now() < end) {
        try {
          // 503 until the daemon is ready (the ops endpoint opens first)
          healthy = (await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) })).ok;
        } catch {}
        if (!healthy) await new Promise((r) => setTimeout(r, 500));
      }
      assert.ok(healthy, `daemon healthy under ${LAUNCHER[target] || 'the host'}:\n${log}`);
      daemon.kill('SIGTERM');
      assert.equal(await exited, 0, `clean stop:\n${log}`);

      const [cmd2, args2] = nodeCmd(target, dir, [join(tmp, 'probe.cjs'), dir, join(data, 'edgecore.db'), 'store']);
      const store = sh(cmd2, args2);
      assert.equal(store.status, 0, store.out);
      const s = JSON.parse(store.stdout.trim().split('\n').pop()!);
      assert.equal(s.integrity, 'ok');
      assert.ok(s.tables.includes('resources'), `store tables: ${s.tables.join(', ')}`);
    });
  }
});
