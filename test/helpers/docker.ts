/**
 * The real Docker engine for tests, and a local test image: no registry is reachable, so the
 * image is made with `docker import` from a rootfs holding busybox-static (every applet
 * linked), a passwd/group file, /tmp and /etc/hosts (scripts/busybox-image.mjs, shared with
 * the demo). Built once per engine, reused after.
 */
import { existsSync } from 'node:fs';
import Docker from 'dockerode';
import type { TestContext } from 'node:test';
import { BUSYBOX_IMAGE, ensureBusyboxImage } from '../../scripts/busybox-image.mjs';
import { needService } from './service.js';

export const DOCKER_SOCKET = process.env.DOCKER_SOCKET ?? '/var/run/docker.sock';
export const TEST_IMAGE = BUSYBOX_IMAGE;

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

/** Make sure the test image exists (built by scripts/busybox-image.mjs, as the demo does); returns its name. */
export async function ensureTestImage(docker: Docker, name = TEST_IMAGE): Promise<string> {
  try {
    await docker.getImage(name).inspect();
    return name;
  } catch {
    /* build it */
  }
  return ensureBusyboxImage({ name, host: `unix://${DOCKER_SOCKET}`, verify: false });
}
