/**
 * install.sh for real, in a clean Debian root: a container from a debootstrap'd minimal bookworm
 * (see debian-image.mjs), with no network (air-gapped install from the local tarball).
 * There is no systemd in the container, so the installer runs with --no-systemd: the daemon is
 * started by start-stop-daemon as the service user, and health is the daemon's real /healthz.
 * Covered: install, re-install (no change), tampered checksum, upgrade, forced-bad upgrade that
 * rolls back (after the health timeout when the daemon hangs, at once when it exits), failing join
 * leaving nothing behind, uninstall (twice), purge (log included; twice: one line), failed fresh
 * install leaving nothing behind. Not covered here: systemctl/unit behaviour (units.test.ts verifies the
 * unit files; a real boot is for the HIL VM or a device).
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { needDocker } from '../../helpers/docker.js';
import { ROOT } from '../../helpers/tmp.js';
import { BUILD_TOOLS, ensureArtifacts, makeBadArtifact, needTools, PACKAGE_VERSION, sh } from './helpers.js';

const UPGRADE_VERSION = `${PACKAGE_VERSION}-upgrade.1`;
const BAD_VERSION = `${PACKAGE_VERSION}-bad.2`;
const THIRD_VERSION = `${PACKAGE_VERSION}-third.3`;
const CRASH_VERSION = `${PACKAGE_VERSION}-crash.4`;
const UPGRADE_OUT = join(ROOT, 'builds/.test-upgrade');
const NAME = `edgecore-pkg-install-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
const CONFIG = ['node: { name: pkg-install-test }', 'modules:', '  edged: { enabled: false }', '  devicetwin: { enabled: false }', ''].join('\n');

let ready = false;
let setupError: unknown;
let inDir = '';

const tarball = (v: string) => `edgecore-${v}-linux-x64.tar.gz`;
const exec = (cmd: string, timeoutMs = 240_000) => sh('docker', ['exec', NAME, 'bash', '-c', cmd], { timeoutMs });
const install = (args: string) => exec(`bash /artifacts/linux-x64/install.sh --no-systemd --health-timeout 120 ${args}`);
const current = () => exec('readlink /opt/edgecore/current').stdout.trim();
const previous = () => exec('readlink /opt/edgecore/previous 2>/dev/null').stdout.trim();
const pid = () => exec('cat /run/edgecore-install/edgecore.pid 2>/dev/null').stdout.trim();
const healthy = () =>
  exec(`/opt/edgecore/current/node/bin/node -e "fetch('http://127.0.0.1:10350/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"`).status === 0;
/** "user comm" of every process in the container (minbase has no procps) */
const processes = () =>
  exec('for p in /proc/[0-9]*; do [ -r $p/comm ] && echo "$(stat -c %U $p) $(cat $p/comm)"; done 2>/dev/null').stdout.trim().split('\n');
const exists = (p: string) => exec(`test -e ${p} || test -L ${p}`).status === 0;

async function gate(t: TestContext): Promise<boolean> {
  if (!(await needTools(t, [...BUILD_TOOLS, 'debootstrap']))) return false;
  if (!(await needDocker(t))) return false;
  if (setupError) throw setupError;
  return ready;
}

describe('packaging: install.sh in a clean Debian root', { concurrency: false }, () => {
  before(async () => {
    try {
      if (sh('sh', ['-c', 'command -v debootstrap && docker version']).status !== 0) return;
      ensureArtifacts('linux-x64');
      ensureArtifacts('linux-x64', { version: UPGRADE_VERSION, outDir: UPGRADE_OUT });
      const img = sh(process.execPath, [join(ROOT, 'test/integration/packaging/debian-image.mjs')], { timeoutMs: 16 * 60_000 });
      if (img.status !== 0) throw new Error(`Debian image: ${img.out}`);
      inDir = mkdtempSync(join(tmpdir(), 'edgecore-pkg-in-'));
      writeFileSync(join(inDir, 'edgecore.yaml'), CONFIG);
      writeFileSync(join(inDir, 'broken.yaml'), 'modules:\n  edged: { enabled: maybe }\n');
      makeBadArtifact(inDir, join(UPGRADE_OUT, 'linux-x64', tarball(UPGRADE_VERSION)), UPGRADE_VERSION, BAD_VERSION);
      makeBadArtifact(inDir, join(UPGRADE_OUT, 'linux-x64', tarball(UPGRADE_VERSION)), UPGRADE_VERSION, THIRD_VERSION, 'linux-x64', false);
      makeBadArtifact(inDir, join(UPGRADE_OUT, 'linux-x64', tarball(UPGRADE_VERSION)), UPGRADE_VERSION, CRASH_VERSION, 'linux-x64', 'crash');
      // a copy of the tarball with a checksum that does not match
      cpSync(join(ROOT, 'builds/linux-x64', tarball(PACKAGE_VERSION)), join(inDir, tarball(PACKAGE_VERSION)));
      writeFileSync(join(inDir, `${tarball(PACKAGE_VERSION)}.sha256`), `${'0'.repeat(64)}  ${tarball(PACKAGE_VERSION)}\n`);
      const run = sh('docker', [
        'run', '-d', '--init', '--name', NAME, '--label', 'edgecore.test=packaging', '--network', 'none',
        '-v', `${join(ROOT, 'builds')}:/artifacts:ro`, '-v', `${inDir}:/in:ro`,
        'edgecore-test/debian-bookworm:1', 'sleep', 'infinity',
      ]);
      if (run.status !== 0) throw new Error(`docker run: ${run.out}`);
      ready = true;
    } catch (e) {
      setupError = e;
    }
  });
  after(() => {
    sh('docker', ['rm', '-f', NAME]);
    if (inDir) rmSync(inDir, { recursive: true, force: true });
  });

  test('install from the local tarball: user, groups, layout, config, unit, healthy daemon', async (t) => {
    if (!(await gate(t))) return;
    const r = install(`--from /artifacts/linux-x64/${tarball(PACKAGE_VERSION)} --config /in/edgecore.yaml`);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /checksum ok/);
    assert.equal(current(), PACKAGE_VERSION);
    assert.equal(exec('/usr/local/bin/edgecore --version').stdout.trim(), PACKAGE_VERSION);
    assert.equal(exec('/usr/local/bin/kubectl-edge --version').stdout.trim(), PACKAGE_VERSION, 'the kubectl plugin on PATH');
    const ids = exec('id -nG edgecore').stdout.trim().split(' ');
    for (const g of ['edgecore', 'gpio', 'i2c', 'dialout', 'docker']) assert.ok(ids.includes(g), `edgecore in ${g}: ${ids.join(' ')}`);
    assert.equal(exec('stat -c "%a %U:%G" /etc/edgecore/edgecore.yaml').stdout.trim(), '640 root:edgecore');
    assert.equal(exec('stat -c "%a %U:%G" /var/lib/edgecore').stdout.trim(), '750 edgecore:edgecore');
    assert.equal(exec('cmp /etc/systemd/system/edgecore.service /opt/edgecore/current/systemd/edgecore.service').status, 0);
    assert.equal(exec(`stat -c %U /proc/${pid()}`).stdout.trim(), 'edgecore', 'the daemon runs as the service user');
    assert.ok(exists('/var/lib/edgecore/edgecore.db'), 'store opened');
    assert.ok(healthy());
  });

  test('usage errors exit 2 and change nothing', async (t) => {
    if (!(await gate(t))) return;
    const before = pid();
    for (const args of ['--bogus', '--purge', '--relay http://x', '--health-timeout soon', '--sha256 abc']) {
      const r = install(args);
      assert.equal(r.status, 2, `${args}: ${r.out}`);
    }
    assert.equal(pid(), before);
  });

  test('re-install of the same artifact changes nothing (same daemon process)', async (t) => {
    if (!(await gate(t))) return;
    const before = pid();
    const r = install(`--from /artifacts/linux-x64/${tarball(PACKAGE_VERSION)} --config /in/edgecore.yaml`);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /nothing to do/);
    assert.equal(pid(), before);
  });

  test('a tarball whose checksum does not match is refused, the installation untouched', async (t) => {
    if (!(await gate(t))) return;
    const before = pid();
    const r = install(`--upgrade --from /in/${tarball(PACKAGE_VERSION)}`);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /checksum mismatch/);
    assert.equal(pid(), before);
    assert.equal(current(), PACKAGE_VERSION);
  });

  test('plain install of another version is refused (needs --upgrade)', async (t) => {
    if (!(await gate(t))) return;
    const r = install(`--from /artifacts/.test-upgrade/linux-x64/${tarball(UPGRADE_VERSION)}`);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /use --upgrade/);
    assert.equal(current(), PACKAGE_VERSION);
  });

  test('upgrade: new version current, previous kept, daemon healthy on the new one', async (t) => {
    if (!(await gate(t))) return;
    const before = pid();
    const r = install(`--upgrade --from /artifacts/.test-upgrade/linux-x64/${tarball(UPGRADE_VERSION)}`);
    assert.equal(r.status, 0, r.out);
    assert.equal(current(), UPGRADE_VERSION);
    assert.equal(previous(), PACKAGE_VERSION);
    assert.ok(exists(`/opt/edgecore/${PACKAGE_VERSION}/bin/edgecore`));
    assert.notEqual(pid(), before, 'restarted');
    assert.equal(exec('/usr/local/bin/edgecore --version').stdout.trim(), UPGRADE_VERSION);
    assert.ok(healthy());
  });

  test('forced-bad upgrade does not become healthy and rolls back by itself', async (t) => {
    if (!(await gate(t))) return;
    const r = install(`--upgrade --health-timeout 10 --from /in/edgecore-${BAD_VERSION}-linux-x64`);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /did not report healthy/);
    assert.match(r.out, new RegExp(`rolled back to ${UPGRADE_VERSION.replace(/\./g, '\\.')} \\(healthy\\)`));
    assert.equal(current(), UPGRADE_VERSION);
    assert.equal(previous(), PACKAGE_VERSION);
    assert.ok(!exists(`/opt/edgecore/${BAD_VERSION}`), 'the bad version is removed');
    assert.ok(!processes().includes('edgecore sleep'), 'the bad daemon is gone');
    assert.ok(exists('/var/lib/edgecore/.pre-upgrade/edgecore.db'), 'store snapshot taken before switching');
    assert.ok(healthy());
  });

  test('an upgrade whose daemon exits at once is rolled back as soon as it is gone, not after the health timeout', async (t) => {
    if (!(await gate(t))) return;
    // an hour of health timeout: only the early give-up lets this finish within exec()'s bound
    const r = install(`--upgrade --health-timeout 3600 --from /in/edgecore-${CRASH_VERSION}-linux-x64`);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /did not become healthy: the daemon exited \(not waiting out the 3600s health timeout\)/);
    assert.match(r.out, /deliberately broken release: exiting/, 'the log tail is shown');
    assert.match(r.out, new RegExp(`rolled back to ${UPGRADE_VERSION.replace(/\./g, '\\.')} \\(healthy\\)`));
    assert.equal(current(), UPGRADE_VERSION);
    assert.ok(healthy());
  });

  test('a second upgrade keeps only current and previous', async (t) => {
    if (!(await gate(t))) return;
    const r = install(`--upgrade --from /in/edgecore-${THIRD_VERSION}-linux-x64`);
    assert.equal(r.status, 0, r.out);
    assert.equal(current(), THIRD_VERSION);
    assert.equal(previous(), UPGRADE_VERSION);
    assert.ok(!exists(`/opt/edgecore/${PACKAGE_VERSION}`), 'the oldest version is pruned');
    assert.ok(healthy());
  });

  test('an invalid --config is refused before anything changes', async (t) => {
    if (!(await gate(t))) return;
    const before = pid();
    const r = install(`--from /in/edgecore-${THIRD_VERSION}-linux-x64 --config /in/broken.yaml`);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /modules\.edged\.enabled/);
    assert.equal(pid(), before);
    assert.equal(exec('cmp /etc/edgecore/edgecore.yaml /in/edgecore.yaml').status, 0, 'config unchanged');
  });

  test('uninstall removes program, unit, links and daemon; keeps config and data; twice is fine', async (t) => {
    if (!(await gate(t))) return;
    const r = install('--uninstall');
    assert.equal(r.status, 0, r.out);
    for (const p of ['/opt/edgecore', '/etc/systemd/system/edgecore.service', '/usr/local/bin/edgecore', '/usr/local/bin/edgectl', '/usr/local/bin/kubectl-edge']) assert.ok(!exists(p), `${p} removed`);
    assert.deepEqual(processes().filter((p) => p.startsWith('edgecore ')), [], 'no process of the service user left');
    assert.ok(exists('/etc/edgecore/edgecore.yaml') && exists('/var/lib/edgecore/edgecore.db'), 'config and data kept');
    const again = install('--uninstall');
    assert.equal(again.status, 0, again.out);
    assert.match(again.out, /nothing to remove/);
  });

  test('install after uninstall reuses the kept config; --purge then removes everything', async (t) => {
    if (!(await gate(t))) return;
    const r = install(`--from /artifacts/linux-x64/${tarball(PACKAGE_VERSION)}`);
    assert.equal(r.status, 0, r.out);
    assert.equal(exec('cmp /etc/edgecore/edgecore.yaml /in/edgecore.yaml').status, 0, 'kept config in use');
    assert.ok(healthy());
    const p = install('--uninstall --purge');
    assert.equal(p.status, 0, p.out);
    for (const path of ['/opt/edgecore', '/etc/edgecore', '/var/lib/edgecore', '/var/log/edgecore.log']) assert.ok(!exists(path), `${path} purged`);
    assert.equal(exec('getent passwd edgecore').status, 2, 'user removed');
    assert.equal(exec('find / -xdev -nouser 2>/dev/null').stdout.trim(), '', 'no file left owned by the deleted user');
    // again, with nothing installed: one plain line
    const again = install('--uninstall --purge');
    assert.equal(again.status, 0, again.out);
    assert.deepEqual(again.out.trim().split('\n'), ['edgecore-install: edgecore is not installed: nothing to remove']);
  });

  test('a fresh install that fails (unhealthy, or join refused) leaves nothing behind', async (t) => {
    if (!(await gate(t))) return;
    const leftovers = () =>
      ['/opt/edgecore', '/etc/edgecore', '/var/lib/edgecore', '/etc/systemd/system/edgecore.service', '/usr/local/bin/edgecore', '/var/log/edgecore.log'].filter(exists);
    // a clean host: the shared groups do not exist either (the first install created them)
    exec('groupdel gpio; groupdel i2c; groupdel docker');
    const bad = install(`--health-timeout 8 --config /in/edgecore.yaml --from /in/edgecore-${BAD_VERSION}-linux-x64`);
    assert.equal(bad.status, 1, bad.out);
    assert.match(bad.out, /undoing/);
    assert.deepEqual(leftovers(), []);
    assert.equal(exec('getent passwd edgecore').status, 2, 'user not left behind');
    assert.equal(exec('getent group gpio').status, 2, 'groups created by the run are removed');
    assert.ok(!processes().some((p) => p.endsWith(' sleep') && !p.startsWith('root ')), 'no daemon left');

    // join against a relay that is not there (the container has no network)
    const join = install(`--from /artifacts/linux-x64/${tarball(PACKAGE_VERSION)} --relay http://127.0.0.1:9 --token t0k3n`);
    assert.equal(join.status, 1, join.out);
    assert.match(join.out, /edgecore join failed/);
    assert.deepEqual(leftovers(), []);
  });
});
