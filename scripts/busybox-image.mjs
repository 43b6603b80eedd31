/**
 * The local demo/test image `edgecore-test/busybox:1`, made without a registry: a rootfs holding
 * a statically linked busybox (every applet linked to it), passwd/group, /tmp and /etc/hosts,
 * then `docker import`. Used by scripts/demo.mjs and the tests (test/helpers/docker.ts).
 *
 * A dynamically linked busybox (Debian's `busybox` package, rather than `busybox-static`) is
 * refused: the image has no libc, so every container would die with
 * `exec /bin/sh: no such file or directory`. An image already built from one is detected by
 * running it once, and rebuilt.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BUSYBOX_IMAGE = 'edgecore-test/busybox:1';
export const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];
const FIX = 'install busybox-static (apt-get install busybox-static; it replaces the dynamically linked busybox)';

/** The ELF program interpreter (e.g. /lib64/ld-linux-x86-64.so.2) of a binary; undefined when static. */
export function elfInterpreter(buf) {
  if (buf.length < 52 || buf.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
  const is64 = buf[4] === 2;
  const le = buf[5] === 1;
  const u16 = (o) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const u64 = (o) => Number(le ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o));
  const phoff = is64 ? u64(32) : u32(28);
  const phentsize = u16(is64 ? 54 : 42);
  const phnum = u16(is64 ? 56 : 44);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (ph + phentsize > buf.length) throw new Error('truncated ELF program headers');
    if (u32(ph) !== 3) continue; // PT_INTERP
    const off = is64 ? u64(ph + 8) : u32(ph + 4);
    const size = is64 ? u64(ph + 32) : u32(ph + 16);
    return buf.subarray(off, off + size).toString('latin1').replace(/\0+$/, '');
  }
  return undefined;
}

function head(file, n = 64 * 1024) {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(n);
    return b.subarray(0, readSync(fd, b, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}

/** The first busybox found that is statically linked; throws saying why none fits. */
export function findStaticBusybox(candidates = BUSYBOX_CANDIDATES) {
  const found = candidates.filter((p) => existsSync(p));
  if (found.length === 0) throw new Error(`no busybox found (${candidates.join(', ')}): ${FIX}`);
  for (const p of found) if (elfInterpreter(head(p)) === undefined) return p;
  throw new Error(`${found[0]} is dynamically linked (interpreter ${elfInterpreter(head(found[0]))}): an image made from it cannot start ("exec /bin/sh: no such file or directory"); ${FIX}`);
}

const docker = (host) => (host ? ['-H', host] : []);

/** Does the image exist and start a shell? (`undefined`: absent; false: present but broken) */
function imageWorks(name, host) {
  if (spawnSync('docker', [...docker(host), 'image', 'inspect', name], { stdio: 'ignore' }).status !== 0) return undefined;
  const r = spawnSync('docker', [...docker(host), 'run', '--rm', '--network', 'none', '--label', 'edgecore.test=image-check', name, '/bin/sh', '-c', 'true'], { encoding: 'utf8' });
  return r.status === 0;
}

/**
 * Build the image unless it exists and works. opts: { name, host (docker -H), busybox (path),
 * verify (run it once when present; default true), log(msg) }. Returns the image name.
 */
export function ensureBusyboxImage(opts = {}) {
  const name = opts.name ?? BUSYBOX_IMAGE;
  const state = opts.verify === false ? (spawnSync('docker', [...docker(opts.host), 'image', 'inspect', name], { stdio: 'ignore' }).status === 0 || undefined) : imageWorks(name, opts.host);
  if (state === true) return name;
  const bb = opts.busybox ?? findStaticBusybox();
  if (opts.busybox && elfInterpreter(head(bb)) !== undefined) throw new Error(`${bb} is dynamically linked: ${FIX}`);
  opts.log?.(state === false ? `rebuilding ${name}: the existing image cannot start a shell (made from a dynamically linked busybox?)` : `building local image ${name} from ${bb}`);
  const dir = mkdtempSync(join(tmpdir(), 'edgecore-rootfs-'));
  try {
    for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'tmp', 'root', 'proc', 'sys', 'dev', 'var/run']) mkdirSync(join(dir, d), { recursive: true });
    chmodSync(join(dir, 'tmp'), 0o1777);
    copyFileSync(bb, join(dir, 'bin/busybox'));
    chmodSync(join(dir, 'bin/busybox'), 0o755);
    const applets = execFileSync(join(dir, 'bin/busybox'), ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
    execFileSync('sh', ['-c', 'cd "$1" && shift && for a in "$@"; do ln -sf /bin/busybox "$a"; done', 'link', join(dir, 'bin'), ...applets]);
    writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\napp:x:1000:1000:app:/tmp:/bin/sh\n');
    writeFileSync(join(dir, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\napp:x:1000:\n');
    writeFileSync(join(dir, 'etc/hosts'), '127.0.0.1 localhost\n');
    const h = opts.host ? `-H '${opts.host}' ` : '';
    execFileSync('sh', ['-c', `tar -C "$1" -c . | docker ${h}import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin:/sbin:/usr/bin:/usr/sbin' - "$2"`, 'import', dir, name], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return name;
}
