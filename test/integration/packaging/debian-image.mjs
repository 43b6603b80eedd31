#!/usr/bin/env node
/**
 * A clean Debian root for the installer tests, as a local Docker image (no registry needed):
 * `debootstrap --variant=minbase bookworm` from deb.debian.org, the rootfs tarball cached under
 * builds/.cache/rootfs/ (gitignored), then `docker import`. Idempotent; concurrent callers wait
 * for the one holding the lock. The packaging tests start it in the background while the ARM
 * addons compile, and wait for it before the installer runs.
 *
 *   node test/integration/packaging/debian-image.mjs [--background | --systemd]
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEBIAN_IMAGE = 'edgecore-test/debian-bookworm:1';
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const CACHE = join(ROOT, 'builds/.cache/rootfs');
const TARBALL = join(CACHE, 'debian-bookworm-minbase.tar');
const LOCK = join(CACHE, '.lock');
const LOG = join(CACHE, 'build.log');
const MIRROR = process.env.DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
const DOCKER = ['-H', `unix://${process.env.DOCKER_SOCKET ?? '/var/run/docker.sock'}`];

const imageExists = () => spawnSync('docker', [...DOCKER, 'image', 'inspect', DEBIAN_IMAGE], { stdio: 'ignore' }).status === 0;
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return pid > 0;
  } catch {
    return false;
  }
};

function sh(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 15 * 60_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${(r.stdout + r.stderr).slice(-3000)}`);
}

function build() {
  if (!existsSync(TARBALL)) {
    const rootfs = join(CACHE, `rootfs-${process.pid}`);
    rmSync(rootfs, { recursive: true, force: true });
    try {
      sh('debootstrap', ['--variant=minbase', 'bookworm', rootfs, MIRROR]);
      rmSync(join(rootfs, 'var/cache/apt/archives'), { recursive: true, force: true });
      mkdirSync(join(rootfs, 'var/cache/apt/archives/partial'), { recursive: true });
      sh('tar', ['--numeric-owner', '-C', rootfs, '-cf', `${TARBALL}.tmp`, '.']);
      renameSync(`${TARBALL}.tmp`, TARBALL);
    } finally {
      rmSync(rootfs, { recursive: true, force: true });
    }
  }
  // started in the background before dockerd (CI provisioning): the rootfs needs no engine
  for (let i = 0; i < 300 && spawnSync('docker', [...DOCKER, 'version'], { stdio: 'ignore' }).status !== 0; i++) {
    spawnSync('sleep', ['1']);
  }
  sh('docker', [...DOCKER, 'import', '--change', 'CMD ["/bin/bash"]', '--change', 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', TARBALL, DEBIAN_IMAGE]);
}

/** Build unless present; wait for another builder. Throws with the reason on failure. */
export async function ensureDebianImage(timeoutMs = 15 * 60_000) {
  mkdirSync(CACHE, { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (imageExists()) return DEBIAN_IMAGE;
    try {
      writeFileSync(LOCK, String(process.pid), { flag: 'wx' });
    } catch {
      const holder = Number(readFileSync(LOCK, 'utf8'));
      if (!alive(holder)) rmSync(LOCK, { force: true });
      else if (Date.now() > deadline) throw new Error(`timed out waiting for pid ${holder} building ${DEBIAN_IMAGE}`);
      else await new Promise((r) => setTimeout(r, 2000));
      continue;
    }
    try {
      if (!imageExists()) build();
      return DEBIAN_IMAGE;
    } finally {
      rmSync(LOCK, { force: true });
    }
  }
}

export const SYSTEMD_IMAGE = 'edgecore-test/debian-bookworm-systemd:1';

/**
 * The same root plus systemd (from deb.debian.org, in a throwaway container), committed as a
 * local image whose PID 1 is systemd. Runs unprivileged: systemd skips the sandboxing it cannot
 * set up there (mount namespaces), but notify, watchdog, restart and enablement are real.
 */
export async function ensureSystemdImage() {
  if (spawnSync('docker', [...DOCKER, 'image', 'inspect', SYSTEMD_IMAGE], { stdio: 'ignore' }).status === 0) return SYSTEMD_IMAGE;
  await ensureDebianImage();
  const name = `edgecore-sd-build-${process.pid}`;
  try {
    sh('docker', [...DOCKER, 'run', '--name', name, '--label', 'edgecore.test=packaging', DEBIAN_IMAGE, 'bash', '-c',
      'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd systemd-sysv dbus >/dev/null && apt-get clean && rm -rf /var/lib/apt/lists/*']);
    sh('docker', [...DOCKER, 'commit', '-c', 'CMD ["/lib/systemd/systemd"]', name, SYSTEMD_IMAGE]);
  } finally {
    spawnSync('docker', [...DOCKER, 'rm', '-f', name], { stdio: 'ignore' });
  }
  return SYSTEMD_IMAGE;
}

/** Start building in a detached process (output in builds/.cache/rootfs/build.log). */
export function startDebianImageInBackground() {
  if (imageExists() || existsSync(LOCK)) return;
  mkdirSync(CACHE, { recursive: true });
  const out = openSync(LOG, 'w');
  spawn(process.execPath, [fileURLToPath(import.meta.url)], { detached: true, stdio: ['ignore', out, out] }).unref();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--background')) startDebianImageInBackground();
  else {
    (process.argv.includes('--systemd') ? ensureSystemdImage() : ensureDebianImage()).then(
      (img) => console.log(`image ${img} ready`),
      (e) => {
        console.error(e.message);
        process.exitCode = 1;
      },
    );
  }
}
