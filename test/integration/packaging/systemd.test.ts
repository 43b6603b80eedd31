/**
 * install.sh and edgecore.service under a real systemd 252 as PID 1: a container from the clean
 * Debian root plus systemd (debian-image.mjs --systemd), unprivileged, host cgroups read-only.
 * Real here: Type=notify READY through `systemd-notify --pid` from the non-root service user,
 * STATUS text, enablement, the watchdog (a frozen daemon is killed and restarted), stop, and
 * install.sh's systemd path incl. rolled-back upgrades (one that never becomes ready: after the
 * health timeout; one that crash-loops: as soon as systemd has restarted it a few times). Not
 * real here: the sandboxing (ProtectSystem=, DeviceAllow=, ...) — an unprivileged container
 * cannot create the mount namespaces, so systemd skips those; units.test.ts verifies the unit
 * file instead.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { needDocker } from '../../helpers/docker.js';
import { ROOT } from '../../helpers/tmp.js';
import { BUILD_TOOLS, ensureArtifacts, makeBadArtifact, needTools, PACKAGE_VERSION, sh } from './helpers.js';

const NAME = `edgecore-pkg-systemd-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
const BAD_VERSION = `${PACKAGE_VERSION}-bad.3`;
const CRASH_VERSION = `${PACKAGE_VERSION}-crash.5`;
const TARBALL = `edgecore-${PACKAGE_VERSION}-linux-x64.tar.gz`;
const CONFIG = ['node: { name: pkg-systemd-test }', 'modules:', '  edged: { enabled: false }', '  devicetwin: { enabled: false }', ''].join('\n');

let ready = false;
let setupError: unknown;
let inDir = '';

const exec = (cmd: string, timeoutMs = 240_000) => sh('docker', ['exec', NAME, 'bash', '-c', cmd], { timeoutMs });
const install = (args: string) => exec(`bash /artifacts/linux-x64/install.sh --health-timeout 120 ${args}`);
const show = (prop: string) => exec(`systemctl show -p ${prop} --value edgecore`).stdout.trim();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll until `pred` holds (or fail with `what` after `seconds`). */
async function until(what: string, seconds: number, pred: () => boolean): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    if (pred()) return;
    await sleep(500);
  }
  assert.fail(`${what}: not within ${seconds}s\n${exec('systemctl status edgecore --no-pager; journalctl -u edgecore -n 30 --no-pager').out}`);
}

async function gate(t: TestContext): Promise<boolean> {
  if (!(await needTools(t, [...BUILD_TOOLS, 'debootstrap']))) return false;
  if (!(await needDocker(t))) return false;
  if (setupError) throw setupError;
  return ready;
}

describe('packaging: edgecore.service under systemd (container with systemd as PID 1)', { concurrency: false }, () => {
  before(async () => {
    try {
      if (sh('sh', ['-c', 'command -v debootstrap && docker version']).status !== 0) return;
      ensureArtifacts('linux-x64');
      const img = sh(process.execPath, [join(ROOT, 'test/integration/packaging/debian-image.mjs'), '--systemd'], { timeoutMs: 20 * 60_000 });
      if (img.status !== 0) throw new Error(`systemd image: ${img.out}`);
      inDir = mkdtempSync(join(tmpdir(), 'edgecore-pkg-sd-'));
      writeFileSync(join(inDir, 'edgecore.yaml'), CONFIG);
      makeBadArtifact(inDir, join(ROOT, 'builds/linux-x64', TARBALL), PACKAGE_VERSION, BAD_VERSION);
      makeBadArtifact(inDir, join(ROOT, 'builds/linux-x64', TARBALL), PACKAGE_VERSION, CRASH_VERSION, 'linux-x64', 'crash');
      const run = sh('docker', [
        'run', '-d', '--name', NAME, '--label', 'edgecore.test=packaging', '--network', 'none',
        '--tmpfs', '/run', '--tmpfs', '/run/lock', '-v', '/sys/fs/cgroup:/sys/fs/cgroup:ro',
        '-v', `${join(ROOT, 'builds')}:/artifacts:ro`, '-v', `${inDir}:/in:ro`,
        'edgecore-test/debian-bookworm-systemd:1',
      ]);
      if (run.status !== 0) throw new Error(`docker run: ${run.out}`);
      // the bound only ends a failing wait (a busy machine boots the container slowly)
      const end = Date.now() + 5 * 60_000;
      let state = '';
      while (Date.now() < end) {
        state = exec('systemctl is-system-running').stdout.trim();
        if (state === 'running' || state === 'degraded') break;
        await sleep(500);
      }
      if (state !== 'running' && state !== 'degraded') throw new Error(`systemd in the container did not finish booting: ${state}`);
      ready = true;
    } catch (e) {
      setupError = e;
    }
  });
  after(() => {
    sh('docker', ['rm', '-f', NAME]);
    if (inDir) rmSync(inDir, { recursive: true, force: true });
  });

  test('install: unit enabled, active only after READY from the non-root daemon', async (t) => {
    if (!(await gate(t))) return;
    const r = install(`--from /artifacts/linux-x64/${TARBALL} --config /in/edgecore.yaml`);
    assert.equal(r.status, 0, r.out);
    assert.equal(exec('systemctl is-enabled edgecore').stdout.trim(), 'enabled');
    assert.equal(show('ActiveState'), 'active');
    assert.equal(show('Type'), 'notify');
    assert.equal(show('StatusText'), 'running', 'STATUS= from the daemon reached systemd');
    const pid = show('MainPID');
    assert.equal(exec(`stat -c %U /proc/${pid}`).stdout.trim(), 'edgecore');
    assert.equal(exec(`cat /proc/${pid}/comm`).stdout.trim(), 'node', 'the launcher exec()s: node is the main process');
  });

  test('watchdog: pings keep a healthy daemon alive; a frozen one is killed and restarted', async (t) => {
    if (!(await gate(t))) return;
    // shorter periods for the test: pings every WatchdogSec/2 = 5 s, so a ping may come up to 5 s
    // late (a busy machine) before systemd would act
    exec('mkdir -p /etc/systemd/system/edgecore.service.d && printf "[Service]\\nWatchdogSec=10\\nTimeoutAbortSec=2\\nRestartSec=1\\n" > /etc/systemd/system/edgecore.service.d/test.conf && systemctl daemon-reload && systemctl restart edgecore');
    await until('active after restart', 180, () => show('ActiveState') === 'active');
    const pid = show('MainPID');
    const restarts = Number(show('NRestarts'));
    await sleep(25_000); // 2.5 x WatchdogSec: without pings systemd would have killed it
    assert.equal(show('MainPID'), pid, 'still the same process');
    assert.equal(Number(show('NRestarts')), restarts);

    exec(`kill -STOP ${pid}`);
    await until('restarted by the watchdog', 180, () => show('MainPID') !== pid && show('ActiveState') === 'active');
    assert.ok(Number(show('NRestarts')) > restarts);
    assert.match(exec('journalctl -u edgecore --no-pager').stdout, /[Ww]atchdog timeout/);
    exec('rm -rf /etc/systemd/system/edgecore.service.d && systemctl daemon-reload && systemctl restart edgecore');
    await until('active again', 180, () => show('ActiveState') === 'active');
  });

  test('forced-bad upgrade: never READY, rolled back to the running version', async (t) => {
    if (!(await gate(t))) return;
    const r = install(`--upgrade --health-timeout 10 --from /in/edgecore-${BAD_VERSION}-linux-x64`);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /rolled back to .* \(healthy\)/);
    assert.equal(exec('readlink /opt/edgecore/current').stdout.trim(), PACKAGE_VERSION);
    assert.equal(show('ActiveState'), 'active');
    assert.equal(exec('systemctl is-enabled edgecore').stdout.trim(), 'enabled');
  });

  test('crash-looping upgrade: rolled back once systemd restarted it a few times, not after the health timeout', async (t) => {
    if (!(await gate(t))) return;
    // an hour of health timeout: only the early give-up lets this finish within exec()'s bound
    const r = install(`--upgrade --health-timeout 3600 --from /in/edgecore-${CRASH_VERSION}-linux-x64`);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /did not become healthy: (edgecore\.service crashed and was restarted \d+ times|systemd gave up on edgecore\.service)/);
    assert.match(r.out, /not waiting out the 3600s health timeout/);
    assert.match(r.out, /rolled back to .* \(healthy\)/);
    assert.equal(exec('readlink /opt/edgecore/current').stdout.trim(), PACKAGE_VERSION);
    assert.equal(show('ActiveState'), 'active');
  });

  test('uninstall --purge: unit stopped, disabled and gone, nothing left', async (t) => {
    if (!(await gate(t))) return;
    const r = install('--uninstall --purge');
    assert.equal(r.status, 0, r.out);
    assert.notEqual(exec('systemctl is-active edgecore').stdout.trim(), 'active');
    assert.notEqual(exec('systemctl cat edgecore').status, 0, 'no unit file left');
    for (const p of ['/opt/edgecore', '/etc/edgecore', '/var/lib/edgecore']) assert.notEqual(exec(`test -e ${p}`).status, 0, `${p} removed`);
  });
});
