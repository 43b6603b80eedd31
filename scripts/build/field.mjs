/**
 * `node build.mjs --target ...`: build field artifacts under builds/<target>/.
 * Steps per target: Node runtime (npm pack, cached) → addons (node-gyp, cached) → assemble
 * (bundles + runtime node_modules + launchers + units + installer) → SHA256SUMS → tar.gz.
 * Targets run concurrently; the long part (better-sqlite3's sqlite amalgamation) is CPU bound,
 * so two cross builds share the two cores of the CI machine.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { assemble, packTree } from './artifact.mjs';
import { addonWasReused, buildAddon, nodeRuntime } from './native.mjs';
import { runtimeClosure, stageRuntime } from './runtime-deps.mjs';
import { NATIVE_PACKAGES, RUNTIME_ROOTS, TARGETS } from './targets.mjs';

function listFiles(dir, out = []) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listFiles(p, []));
    else out.push(p);
  }
  return out;
}

/** Hash of everything an artifact is made from (for `--if-changed`). */
export function inputsHash(root, version) {
  const h = createHash('sha256');
  h.update(`version ${version}\n`);
  const files = [
    'package.json',
    'package-lock.json',
    'build.mjs',
    'install.sh',
    'docs/packaging.md',
    ...listFiles(join(root, 'scripts/build')).map((f) => relative(root, f)),
    ...listFiles(join(root, 'systemd')).map((f) => relative(root, f)),
    ...listFiles(join(root, 'src')).map((f) => relative(root, f)),
  ];
  for (const f of files) {
    if (!existsSync(join(root, f))) continue;
    h.update(`${f}\n`);
    h.update(readFileSync(join(root, f)));
  }
  return h.digest('hex');
}

function gitCommit(root) {
  try {
    const head = readFileSync(join(root, '.git/HEAD'), 'utf8').trim();
    if (!head.startsWith('ref: ')) return head;
    const ref = head.slice(5);
    const loose = join(root, '.git', ref);
    if (existsSync(loose)) return readFileSync(loose, 'utf8').trim();
    const packed = readFileSync(join(root, '.git/packed-refs'), 'utf8').split('\n').find((l) => l.endsWith(` ${ref}`));
    return packed?.split(' ')[0] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * opts: { root, targets, version, outRoot, cacheDir, rebuildNative, ifChanged, jobs,
 *         bundle(outdir) → { metafile }, entries, externals, log }
 * Resolves with one build-info object per target.
 */
export async function buildTargets(opts) {
  const { root, version, log } = opts;
  const hash = inputsHash(root, version);
  /** with --if-changed: the build-info of a target whose artifact is already built from these inputs */
  const upToDate = (target) => {
    const infoFile = join(opts.outRoot, target, 'build-info.json');
    if (!opts.ifChanged || !existsSync(infoFile)) return undefined;
    const info = JSON.parse(readFileSync(infoFile, 'utf8'));
    return info.inputsHash === hash && existsSync(join(opts.outRoot, target, info.tarball)) ? info : undefined;
  };
  const split = (said = []) => {
    const results = [];
    const todo = [];
    for (const target of opts.targets) {
      const info = upToDate(target);
      if (info) results.push(info);
      else todo.push(target);
    }
    for (const info of results) if (!said.includes(info.target)) log(`${info.target}: up to date (${info.tarball})`);
    return { results, todo };
  };
  const first = split();
  if (first.todo.length === 0) return first.results;

  const started = Date.now();
  const bundleDir = join(opts.cacheDir, `bundle-${process.pid}`);
  const release = await lockCache(opts.cacheDir, log);
  try {
    // a build we waited for may have produced what we need
    const { results, todo } = opts.ifChanged ? split(first.results.map((i) => i.target)) : first;
    if (todo.length === 0) return results;
    return [...results, ...(await buildAll(opts, todo, bundleDir, hash, started))];
  } finally {
    rmSync(bundleDir, { recursive: true, force: true });
    release();
  }
}

/**
 * One build at a time per cache: two would compile into the same work directories. A second build
 * waits for the first (polling the lock holder's pid); a lock left by a dead build is taken over.
 */
export async function lockCache(cacheDir, log = () => {}, pollMs = 1000) {
  mkdirSync(cacheDir, { recursive: true });
  const lock = join(cacheDir, '.lock');
  let said = false;
  for (;;) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      return () => rmSync(lock, { force: true });
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
    }
    let pid = NaN;
    try {
      pid = Number(readFileSync(lock, 'utf8'));
    } catch {
      continue; // released between our attempt and the read
    }
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = pid > 0;
    } catch (e) {
      alive = e.code === 'EPERM';
    }
    if (!alive) {
      rmSync(lock, { force: true }); // stale: its build died
      continue;
    }
    if (!said) {
      log(`waiting for another build (pid ${pid}) using ${cacheDir}`);
      said = true;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

async function buildAll(opts, todo, bundleDir, hash, started) {
  const { root, version, log } = opts;
  const { metafile } = await opts.bundle(bundleDir);
  const imported = new Set();
  for (const out of Object.values(metafile.outputs)) for (const i of out.imports) if (i.external && !i.path.startsWith('node:')) imported.add(i.path);
  const installed = (name) => existsSync(join(root, 'node_modules', name, 'package.json'));
  const roots = [...new Set([...RUNTIME_ROOTS, ...[...imported].filter(installed)])].sort();
  const closure = runtimeClosure(root, roots);
  const natives = closure.filter((p) => NATIVE_PACKAGES.includes(p.name));
  const missing = NATIVE_PACKAGES.filter((n) => !natives.some((p) => p.name === n));
  if (missing.length) throw new Error(`native packages not found in the runtime closure: ${missing.join(', ')}`);

  const runtimes = Object.fromEntries(await Promise.all(todo.map(async (t) => [t, await nodeRuntime(t, opts.cacheDir, log)])));
  const commit = gitCommit(root);
  const mtime = Number(process.env.SOURCE_DATE_EPOCH ?? Math.floor(Date.now() / 1000));

  const one = async (target) => {
    const t0 = Date.now();
    const runtime = runtimes[target];
    const addons = new Map();
    const addonInfo = [];
    for (const p of natives) {
      const dir = await buildAddon(p, target, { projectRoot: root, cacheDir: opts.cacheDir, runtime, rebuild: opts.rebuildNative, jobs: opts.jobs, log });
      addons.set(p.name, dir);
      addonInfo.push({ name: p.name, version: p.version, files: readdirSync(dir).filter((f) => f.endsWith('.node')), reusedHostBuild: addonWasReused(dir) });
    }
    const name = `edgecore-${version}-${target}`;
    const outDir = join(opts.outRoot, target);
    const stageDir = join(opts.cacheDir, `stage-${target}-${process.pid}`);
    const manifest = {
      name: 'edgecore',
      version,
      target,
      commit,
      builtAt: new Date(mtime * 1000).toISOString(),
      node: { package: TARGETS[target].nodePackage, version: runtime.version },
      entries: opts.entries,
      packages: closure.map((p) => ({ name: p.name, version: p.version })),
      addons: addonInfo,
    };
    const a = await assemble({
      root,
      stageDir,
      name,
      bundleDir,
      entries: opts.entries,
      runtime,
      manifest,
      stageNodeModules: (dest) => stageRuntime(closure, dest, addons, NATIVE_PACKAGES),
    });
    // other versions' tarballs in builds/<target>/ stay (install.sh beside them takes the newest)
    mkdirSync(outDir, { recursive: true });
    const tarball = `${name}.tar.gz`;
    const sha256 = await packTree(stageDir, name, join(outDir, tarball), mtime);
    cpSync(join(root, 'install.sh'), join(outDir, 'install.sh'));
    rmSync(stageDir, { recursive: true, force: true });
    const info = {
      target,
      version,
      tarball,
      sha256,
      sizeBytes: statSync(join(outDir, tarball)).size,
      unpackedBytes: a.unpackedBytes,
      files: a.files,
      node: manifest.node,
      addons: addonInfo,
      seconds: Math.round((Date.now() - t0) / 100) / 10,
      totalSeconds: Math.round((Date.now() - started) / 100) / 10,
      inputsHash: hash,
    };
    writeFileSync(join(outDir, 'build-info.json'), JSON.stringify(info, null, 2) + '\n');
    log(`${target}: ${tarball} ${(info.sizeBytes / 1048576).toFixed(1)} MiB (unpacked ${(info.unpackedBytes / 1048576).toFixed(1)} MiB) in ${info.totalSeconds} s`);
    return info;
  };
  // allSettled: a failing target must not pull the shared bundle from under the others
  const settled = await Promise.allSettled(todo.map(one));
  const failed = settled.filter((s) => s.status === 'rejected');
  if (failed.length) throw failed[0].reason;
  return settled.map((s) => s.value);
}
