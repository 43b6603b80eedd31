import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CgroupUsage, locate, parseMountInfo, parseProcCgroup, readingFrom } from '../../../src/modules/edged/cgroup-usage.js';
import { tmpDir } from '../../helpers/tmp.js';

const ID = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);

// a hybrid host (v1 controllers, an empty unified hierarchy) as Debian 10 and this CI machine mount it
const HYBRID = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
`;
const HYBRID_PROC = `9:name=systemd:/system.slice/docker-${ID}.scope
4:memory:/system.slice/docker-${ID}.scope
2:cpu,cpuacct:/system.slice/docker-${ID}.scope
0::/system.slice/docker-${ID}.scope
`;
// cgroup v2 only (Raspberry Pi OS bookworm), a mount point with a space escaped
const UNIFIED = '25 20 0:22 / /sys/fs/my\\040cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n';

test('mountinfo: the cgroup mounts, their controllers and roots; other filesystems left out; escapes undone', () => {
  assert.deepEqual(parseMountInfo(HYBRID), [
    { version: 1, root: '/', mountPoint: '/sys/fs/cgroup/cpu,cpuacct', controllers: ['cpu', 'cpuacct'] },
    { version: 1, root: '/', mountPoint: '/sys/fs/cgroup/memory', controllers: ['memory'] },
    { version: 2, root: '/', mountPoint: '/sys/fs/cgroup/unified', controllers: [] },
  ]);
  assert.deepEqual(parseMountInfo(UNIFIED), [{ version: 2, root: '/', mountPoint: '/sys/fs/my cgroup', controllers: [] }]);
  assert.deepEqual(parseMountInfo('garbage\n\n1 2 3\n'), []);
});

test('/proc/<pid>/cgroup lines', () => {
  assert.deepEqual(parseProcCgroup(HYBRID_PROC)[1], { hierarchy: 4, controllers: ['memory'], path: `/system.slice/docker-${ID}.scope` });
  assert.deepEqual(parseProcCgroup(`0::/docker/${ID}\n`), [{ hierarchy: 0, controllers: [], path: `/docker/${ID}` }]);
  assert.deepEqual(parseProcCgroup('x:y\nnot:a:number:line\n'), []);
});

test('locate: v1 hierarchies on a hybrid host, the unified one on a v2 host, a subtree mount, and nothing for another container or an unseen path', () => {
  assert.deepEqual(locate(parseProcCgroup(HYBRID_PROC), parseMountInfo(HYBRID), ID), {
    version: 1,
    cpuacct: `/sys/fs/cgroup/cpu,cpuacct/system.slice/docker-${ID}.scope`,
    memory: `/sys/fs/cgroup/memory/system.slice/docker-${ID}.scope`,
  });
  assert.deepEqual(locate(parseProcCgroup(`0::/docker/${ID}\n`), parseMountInfo(UNIFIED), ID), { version: 2, dir: `/sys/fs/my cgroup/docker/${ID}` });
  // the process is someone else's (another PID namespace): its cgroup does not name this container
  assert.equal(locate(parseProcCgroup(HYBRID_PROC), parseMountInfo(HYBRID), OTHER), undefined);
  // a mount that shows only a subtree (a cgroup namespace or a bind mount)
  const sub = parseMountInfo('25 20 0:22 /docker /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n');
  assert.deepEqual(locate(parseProcCgroup(`0::/docker/${ID}\n`), sub, ID), { version: 2, dir: `/sys/fs/cgroup/${ID}` });
  assert.equal(locate(parseProcCgroup(`0::/elsewhere/${ID}\n`), sub, ID), undefined);
  // the same hierarchy mounted twice: the subtree first, then the whole — the one that shows the path is used
  const both = parseMountInfo('25 20 0:22 /docker /run/cg rw - cgroup2 cgroup2 rw\n26 20 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n');
  assert.deepEqual(locate(parseProcCgroup(`0::/system.slice/docker-${ID}.scope\n`), both, ID), { version: 2, dir: `/sys/fs/cgroup/system.slice/docker-${ID}.scope` });
  assert.equal(locate(parseProcCgroup(`0::/docker/${ID}\n`), [], ID), undefined);
});

test('the figures: v2 cpu.stat usage_usec in ns, v1 cpuacct.usage; working set = usage less inactive file pages, never below zero', () => {
  const cpuStat = 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n';
  assert.deepEqual(readingFrom(2, cpuStat, '10000\n', 'anon 1\ninactive_file 4096\n', 7), { cpuNs: 1_500_000, atMs: 7, workingSetBytes: 5904 });
  assert.deepEqual(readingFrom(1, '123456789\n', '8192\n', 'cache 1\ninactive_file 1\ntotal_inactive_file 4096\n', 7), { cpuNs: 123456789, atMs: 7, workingSetBytes: 4096 });
  assert.equal(readingFrom(2, cpuStat, '100\n', 'inactive_file 4096\n', 7)?.workingSetBytes, 0);
  assert.equal(readingFrom(2, 'nothing 1\n', '100\n', '', 7), undefined);
  assert.equal(readingFrom(1, 'x', '100\n', '', 7), undefined);
});

/** A procfs and a v2 cgroupfs made of files (the kernel's are read in the integration test). */
function tree(t: Parameters<typeof tmpDir>[0], procs: string) {
  const root = tmpDir(t, 'edgecore-cgroup-');
  const cg = join(root, 'cgroup');
  const dir = join(cg, 'docker', ID);
  mkdirSync(join(root, 'proc/self'), { recursive: true });
  mkdirSync(join(root, 'proc/4242'), { recursive: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(root, 'proc/self/mountinfo'), `25 20 0:22 / ${cg} rw - cgroup2 cgroup2 rw\n`);
  writeFileSync(join(root, 'proc/4242/cgroup'), `0::/docker/${ID}\n`);
  writeFileSync(join(dir, 'cgroup.procs'), procs);
  writeFileSync(join(dir, 'cpu.stat'), 'usage_usec 2000\n');
  writeFileSync(join(dir, 'memory.current'), '65536\n');
  writeFileSync(join(dir, 'memory.stat'), 'inactive_file 1024\n');
  return { procfs: join(root, 'proc'), dir };
}

test('CgroupUsage reads a container through its process, and gives up (the engine is asked) where the process is not in that cgroup', (t) => {
  const ok = tree(t, '4242\n4243\n');
  const u = new CgroupUsage({ procfs: ok.procfs, now: () => 9 });
  assert.deepEqual(u.read(ID, 4242), { cpuNs: 2_000_000, atMs: 9, workingSetBytes: 64512 });
  writeFileSync(join(ok.dir, 'cpu.stat'), 'usage_usec 3000\n');
  assert.equal(u.read(ID, 4242)?.cpuNs, 3_000_000, 'read again, not remembered');
  assert.equal(u.read(ID, undefined)?.cpuNs, 3_000_000, 'found once per container');
  assert.equal(u.read(OTHER, 4242), undefined, 'a process whose cgroup does not name the container');
  assert.equal(u.read(ID.replace('a', 'c'), undefined), undefined, 'no process known');

  const stranger = tree(t, '1\n42420\n');
  assert.equal(new CgroupUsage({ procfs: stranger.procfs, now: () => 9 }).read(ID, 4242), undefined, 'pid not among cgroup.procs: another namespace');
});
