/**
 * `kubectl top`'s readings from the kernel's cgroup files agree with what the real Docker engine
 * reports for the same container: CPU read between two engine readings lies between them, the
 * working set equals the engine's (within a page cache's wobble). Whatever cgroup version and
 * driver this host has is the one tested (this CI host: v1 with cgroupfs; a Pi: v2 with systemd).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CgroupUsage } from '../../../src/modules/edged/cgroup-usage.js';
import { readingOf } from '../../../src/modules/edged/usage.js';
import { ensureTestImage, needDocker } from '../../helpers/docker.js';

test('a running container read from its cgroup matches the engine`s one-shot stats; a process not in its cgroup reads nothing', async (t) => {
  const docker = await needDocker(t);
  if (!docker) return;
  const image = await ensureTestImage(docker);
  // spins, and holds 4 MiB in a tmpfs file so the working set is not near zero
  const c = await docker.createContainer({ Image: image, Cmd: ['sh', '-c', 'head -c 4194304 /dev/zero > /dev/shm/x; while :; do :; done'], HostConfig: { ShmSize: 16 << 20 } });
  t.after(() => c.remove({ force: true }).catch(() => undefined));
  await c.start();
  const info = await c.inspect();
  const engine = async () => readingOf(await c.stats({ stream: false, 'one-shot': true } as { stream: false }));
  await new Promise((r) => setTimeout(r, 1000));

  const u = new CgroupUsage({ procfs: '/proc', now: () => Date.now() });
  const before = await engine();
  const mine = u.read(info.Id, info.State.Pid);
  const after = await engine();
  assert.ok(before && after, 'the engine reports the container');
  assert.ok(mine, 'the cgroup files of a container on this host are readable');
  assert.ok(before.cpuNs <= mine.cpuNs && mine.cpuNs <= after.cpuNs, `CPU ${mine.cpuNs} ns lies between the engine's ${before.cpuNs} and ${after.cpuNs}`);
  assert.ok(after.cpuNs > before.cpuNs, 'it spins');
  const slack = 512 * 1024;
  assert.ok(mine.workingSetBytes >= 4 << 20, `working set ${mine.workingSetBytes} holds the 4 MiB file`);
  assert.ok(Math.abs(mine.workingSetBytes - after.workingSetBytes) <= slack, `working set ${mine.workingSetBytes} against the engine's ${after.workingSetBytes}`);

  // this test's own process is not in the container's cgroup: nothing read, the engine is asked
  assert.equal(new CgroupUsage({ procfs: '/proc', now: () => Date.now() }).read(info.Id, process.pid), undefined);
});
