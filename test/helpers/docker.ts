/**
 * The real Docker engine for tests, and a local test image: no registry is reachable, so the
 * image is made with `docker import` from a rootfs holding busybox-static (every applet
 * linked), a passwd/group file, /tmp and /etc/hosts. Built once per engine, reused after.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import type { TestContext } from 'node:test';
import { needService } from './service.js';

export const DOCKER_SOCKET = process.env.DOCKER_SOCKET ?? '/var/run/docker.sock';
export const TEST_IMAGE = 'edgecore-test/busybox:1';
const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];

export function dockerClient(): Docker {
  return new Docker({ socketPath: DOCKER_SOCKET });
}

/** Skip (or fail under CI) unless the engine answers. */
export async function needDocker(t: TestContext): Promise<Docker | undefined> {
  const docker = dockerClient();
  const ok = await needService(t, 'Docker engine', async () => {
    if (!existsSync(DOCKER_SOCKET)) throw new Error(`no socket at ${DOCKER_SOCKET}`);
    await docker.ping();
  });
  return ok ? docker : undefined;
}

function findBusybox(): string {
  const found = BUSYBOX_CANDIDATES.find((p) => existsSync(p));
  if (!found) throw new Error('busybox-static not installed (apt-get install busybox-static)');
  return found;
}

/** Make sure the test image exists; returns its name. */
export async function ensureTestImage(docker: Docker, name = TEST_IMAGE): Promise<string> {
  try {
    await docker.getImage(name).inspect();
    return name;
  } catch {
    /* build it */
  }
  const dir = mkdtempSync(join(tmpdir(), 'edgecore-rootfs-'));
  try {
    for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'tmp', 'root', 'proc', 'sys', 'dev', 'var/run']) {
      mkdirSync(join(dir, d), { recursive: true });
    }
    chmodSync(join(dir, 'tmp'), 0o1777);
    copyFileSync(findBusybox(), join(dir, 'bin/busybox'));
    chmodSync(join(dir, 'bin/busybox'), 0o755);
    execFileSync(join(dir, 'bin/busybox'), ['--install', '-s', join(dir, 'bin')]);
    // --install -s links to the absolute path given; rewrite the links to /bin/busybox.
    execFileSync('sh', ['-c', `cd "${join(dir, 'bin')}" && for f in *; do [ "$f" = busybox ] || ln -sf /bin/busybox "$f"; done`]);
    writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\napp:x:1000:1000:app:/tmp:/bin/sh\n');
    writeFileSync(join(dir, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\napp:x:1000:\n');
    writeFileSync(join(dir, 'etc/hosts'), '127.0.0.1 localhost\n');
    execFileSync('sh', ['-c', `tar -C "${dir}" -c . | docker -H unix://${DOCKER_SOCKET} import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin:/sbin:/usr/bin:/usr/sbin' - ${name}`], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return name;
}
