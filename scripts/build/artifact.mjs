/**
 * Assemble one field artifact and pack it:
 *
 *   edgecore-<version>-<target>/
 *     manifest.json       what is inside (version, target, Node, addons), for humans and install.sh
 *     SHA256SUMS          `sha256sum -c` list of every other file
 *     install.sh          the installer (also placed beside the tarball)
 *     bin/edgecore|edgerelay|edgectl|kubectl-edge   launchers: the bundled Node runs lib/<name>.js
 *                         (kubectl-edge: edgectl as the kubectl plugin `kubectl edge`)
 *     lib/*.js(.map)      the bundles (+ lib/chunks/); lib/node_modules: runtime packages + target addons
 *     node/bin/node       the target's Node runtime (debug info stripped)
 *     systemd/*.service   the units
 *     docs/packaging.md
 *
 * builds/<target>/ then holds the .tar.gz, its .sha256, install.sh and build-info.json.
 */
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, createReadStream, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { run } from './native.mjs';

/**
 * V8 flags the launcher gives the daemon: a 1 MiB young-generation semi-space (the default, 16 MiB
 * on 64-bit, lets RSS grow by ~10 MiB under edged's inspection churn, which a 512 MiB board feels;
 * the apply latency did not suffer: docs/edged.md, "Measured"), and --optimize-for-size, which
 * grows the old generation less eagerly: with 50 devices reporting the daemon settles at 74-75 MiB
 * instead of 87-88 after a minute, CPU unchanged within noise (docs/benchmarks.md, footprint); and
 * --single-threaded-gc: with reports arriving in bursts (device cycles on the clock) the GC helper
 * threads cost more than they saved: 50 devices 1.71-1.8 % of a core instead of 2.06-2.31.
 * --no-opt: no TurboFan. Its code in the node binary (~4 MiB of pages touched) and its optimized
 * code in the heap cost more than they gave: 20 pods + 50 devices settled ~4-8 MiB lower, the
 * devices' CPU unchanged within noise (the daemon's time goes to SQLite, JSON and sockets, which
 * are native or builtins either way; docs/benchmarks.md, footprint).
 * EDGECORE_NODE_FLAGS overrides them ("" for V8's defaults). The benches measure the daemon with
 * the same flags and environment (bench/lib.mjs).
 */
export const DAEMON_NODE_FLAGS = ['--max-semi-space-size=1', '--optimize-for-size', '--single-threaded-gc', '--no-opt'];
/**
 * Environment the launcher gives the daemon unless already set: MALLOC_ARENA_MAX=1, one glibc
 * malloc arena. V8's compiler threads and libuv's pool each got an arena of their own and kept
 * 4.5-5.5 MiB resident in them; with one the daemon's malloc heap grew by ~0.5 MiB instead
 * (docs/benchmarks.md, footprint). No CPU difference measured.
 */
export const DAEMON_ENV = { MALLOC_ARENA_MAX: '1' };
/**
 * V8 flags the launcher gives the relay: an old-generation ceiling and 4 MiB semi-spaces. With
 * V8's defaults the heap grew to 3× its live size during reconnect storms (10k nodes: 157 MiB
 * live, 488 MiB heap, 642 MiB RSS at peak) and 20k nodes reached the unit's MemoryMax=1G; with
 * these the same storm peaked at 293 MiB for the same CPU (earlier runs of bench/relay-scale.mjs,
 * not recorded; the 5k figures in docs/benchmarks.md, relay scale, are with these flags).
 * 640 MiB leaves room for ~20 KB of live heap per node at the unit's connection cap.
 */
export const RELAY_NODE_FLAGS = ['--max-old-space-size=640', '--max-semi-space-size=4'];
const NODE_FLAGS = { edgecore: DAEMON_NODE_FLAGS, edgerelay: RELAY_NODE_FLAGS };
const NODE_ENV = { edgecore: DAEMON_ENV };

const LAUNCHER = (entry) => {
  const flags = NODE_FLAGS[entry] ?? [];
  const nodeFlags = flags.length ? ` \${EDGECORE_NODE_FLAGS-${flags.join(' ')}}` : '';
  return `#!/bin/sh
# ${entry} launcher: the artifact's own Node runtime runs the bundle. EDGECORE_NODE_LAUNCHER
# may name an emulator to prefix (e.g. "qemu-aarch64-static -L /usr/aarch64-linux-gnu").${flags.length ? `
# EDGECORE_NODE_FLAGS: node's flags (default: ${flags.join(' ')}; "" for none).` : ''}
# UV_USE_IO_URING=0: Node 20.3-20.11.0 (the armv7 runtime) would read serial ports through
# io_uring, which hangs them once their device goes away (src/lib/runtime.ts).
export UV_USE_IO_URING=\${UV_USE_IO_URING:-0}
${Object.entries(NODE_ENV[entry] ?? {})
  .map(([k, v]) => `# ${k}=${v} unless set: the daemon's memory (scripts/build/artifact.mjs, DAEMON_ENV).\nexport ${k}=\${${k}:-${v}}\n`)
  .join('')}here=$(dirname "$(readlink -f "$0")")
exec \${EDGECORE_NODE_LAUNCHER:-} "$here/../node/bin/node"${nodeFlags} "$here/../lib/${entry}.js" "$@"
`;
};

export function sha256File(file) {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

function walk(dir, base = dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) out.push(...walk(p, base));
    else out.push(relative(base, p).split(sep).join('/'));
  }
  return out;
}

/** Write SHA256SUMS for every file under `dir` (except itself); returns the total size. */
export async function writeChecksums(dir) {
  const files = walk(dir).filter((f) => f !== 'SHA256SUMS');
  let lines = '';
  let bytes = 0;
  for (const f of files) {
    lines += `${await sha256File(join(dir, f))}  ./${f}\n`;
    bytes += statSync(join(dir, f)).size;
  }
  writeFileSync(join(dir, 'SHA256SUMS'), lines);
  return { files: files.length, bytes };
}

/** Deterministic tar.gz of `parent/name`; writes `<tarball>.sha256` beside it. */
export async function packTree(parent, name, tarball, mtime) {
  await run('sh', [
    '-c',
    'tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$1" -C "$2" -cf - "$3" | gzip -n -6 > "$4"',
    'pack',
    String(mtime),
    parent,
    name,
    tarball,
  ]);
  const sum = await sha256File(tarball);
  writeFileSync(`${tarball}.sha256`, `${sum}  ${tarball.split('/').pop()}\n`);
  return sum;
}

/**
 * opts: { root, stageDir, name, bundleDir, entries, runtime, stageNodeModules(dest), manifest }
 * Returns { dir, unpackedBytes, files }.
 */
export async function assemble(opts) {
  const dir = join(opts.stageDir, opts.name);
  rmSync(dir, { recursive: true, force: true });
  for (const d of ['bin', 'lib', 'node/bin', 'systemd', 'docs']) mkdirSync(join(dir, d), { recursive: true });
  cpSync(opts.bundleDir, join(dir, 'lib'), { recursive: true });
  rmSync(join(dir, 'lib', 'kubectl-edge'), { force: true }); // dist's wrapper for a checkout: bin/kubectl-edge replaces it
  writeFileSync(join(dir, 'lib', 'package.json'), JSON.stringify({ type: 'module', private: true }, null, 2) + '\n');
  opts.stageNodeModules(join(dir, 'lib', 'node_modules'));
  for (const e of opts.entries) {
    writeFileSync(join(dir, 'bin', e), LAUNCHER(e));
    chmodSync(join(dir, 'bin', e), 0o755);
  }
  cpSync(opts.runtime.node, join(dir, 'node', 'bin', 'node'));
  chmodSync(join(dir, 'node', 'bin', 'node'), 0o755);
  if (existsSync(join(opts.runtime.dir, 'LICENSE'))) cpSync(join(opts.runtime.dir, 'LICENSE'), join(dir, 'node', 'LICENSE'));
  for (const f of readdirSync(join(opts.root, 'systemd')).filter((f) => f.endsWith('.service'))) {
    cpSync(join(opts.root, 'systemd', f), join(dir, 'systemd', f));
  }
  cpSync(join(opts.root, 'install.sh'), join(dir, 'install.sh'));
  chmodSync(join(dir, 'install.sh'), 0o755);
  if (existsSync(join(opts.root, 'docs', 'packaging.md'))) cpSync(join(opts.root, 'docs', 'packaging.md'), join(dir, 'docs', 'packaging.md'));
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(opts.manifest, null, 2) + '\n');
  const { files, bytes } = await writeChecksums(dir);
  return { dir, unpackedBytes: bytes, files };
}
