/**
 * Node runtimes and native addons per target.
 *
 * - The runtime is the npm registry's `node-linux-*` package, fetched with `npm pack` (an
 *   `npm install` refuses it with EBADPLATFORM, and a forced install would put a foreign `node`
 *   into node_modules/.bin). Its include/node (with the target's config.gypi) is node-gyp's nodedir.
 * - Addons are compiled with node-gyp against that nodedir with Debian's cross toolchains
 *   (CC/CXX/LINK/AR); prebuilt downloads are never tried. On the build host's own target, the
 *   addons `npm ci` already compiled are reused (same ABI, same arch) unless a rebuild is asked.
 * Everything lands in a cache keyed by package, version, target and Node version.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, openSync, readSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { elfMachine, hostTarget, TARGETS, toolchain } from './targets.mjs';

/** Run a command; resolve with its stdout, reject with its output tail when it fails. */
export function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    let stdout = '';
    const keep = (d) => {
      out += d;
      if (out.length > 64_000) out = out.slice(-32_000);
    };
    child.stdout.on('data', (d) => {
      keep(d);
      stdout += d;
    });
    child.stderr.on('data', keep);
    child.on('error', (e) => reject(new Error(`${cmd}: ${e.message}`)));
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${out.slice(-4000)}`));
    });
  });
}

function readHead(file, n = 64) {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(n);
    readSync(fd, b, 0, n, 0);
    return b;
  } finally {
    closeSync(fd);
  }
}

/** Throws unless `file` is an ELF binary for `target`. */
export function assertElfFor(file, target) {
  const m = elfMachine(readHead(file));
  if (m !== TARGETS[target].elfMachine) throw new Error(`${file} is not a ${target} binary (ELF machine ${m})`);
}

/** npm without the user's `nodedir` (it points at the host's x64 headers) and without noise. */
function npmEnv() {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^npm_config_/i.test(k)) delete env[k];
  return { ...env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
}

/**
 * The target's Node distribution, unpacked under the cache: { dir, version, node } where
 * `node` is the stripped binary to ship and `dir` the nodedir for node-gyp.
 */
export async function nodeRuntime(target, cacheDir, log) {
  const t = TARGETS[target];
  const dir = join(cacheDir, 'node', `${t.nodePackage}-${t.nodeVersion}`);
  const node = join(dir, 'bin', 'node.stripped');
  const cachedIntegrity = existsSync(join(dir, '.complete')) && existsSync(join(dir, '.integrity')) ? readFileSync(join(dir, '.integrity'), 'utf8').trim() : undefined;
  if (cachedIntegrity === t.nodeIntegrity) {
    if (!existsSync(node)) await stripNode(target, join(dir, 'bin'));
    return { dir, version: t.nodeVersion, node };
  }
  if (cachedIntegrity) log(`${target}: the cached ${t.nodePackage}@${t.nodeVersion} has integrity ${cachedIntegrity}, not the pinned one: fetching again`);
  log(`${target}: fetching ${t.nodePackage}@${t.nodeVersion} from the npm registry`);
  rmSync(dir, { recursive: true, force: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const out = await run('npm', ['pack', `${t.nodePackage}@${t.nodeVersion}`, '--json', '--pack-destination', tmp], { env: npmEnv(), cwd: tmp });
  const packed = JSON.parse(out.slice(out.indexOf('[')));
  // npm checked the tarball against the registry's hash; this checks the registry against the pin
  if (packed[0].integrity !== t.nodeIntegrity) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`${t.nodePackage}@${t.nodeVersion}: registry integrity ${packed[0].integrity} is not the one pinned in scripts/build/node-runtimes.txt (${t.nodeIntegrity})`);
  }
  const tgz = join(tmp, packed[0].filename);
  const unpacked = join(tmp, 'pkg');
  mkdirSync(unpacked);
  await run('tar', ['-xzf', tgz, '-C', unpacked, '--strip-components=1']);
  rmSync(tgz);
  const bin = join(unpacked, 'bin', 'node');
  assertElfFor(bin, target);
  await stripNode(target, join(unpacked, 'bin'));
  writeFileSync(join(unpacked, '.integrity'), `${packed[0].integrity}\n`);
  writeFileSync(join(unpacked, '.complete'), '');
  mkdirSync(dirname(dir), { recursive: true });
  renameSync(unpacked, dir);
  rmSync(tmp, { recursive: true, force: true });
  return { dir, version: t.nodeVersion, node };
}

/**
 * The registry's binary carries its full symbol table (and, for arm, debug info): ~10 MB the
 * field does not need. --strip-all keeps .dynsym, which addons link against at load time.
 */
async function stripNode(target, binDir) {
  const tmp = join(binDir, `node.stripped.tmp-${process.pid}`);
  await run(toolchain(target).STRIP, ['--strip-all', '-o', tmp, join(binDir, 'node')]);
  renameSync(tmp, join(binDir, 'node.stripped'));
}

function nodeGypScript(projectRoot) {
  const candidates = [
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(projectRoot, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error('node-gyp not found (it ships with npm)');
  return found;
}

const releaseNodes = (dir) =>
  existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.node') && f !== 'test_extension.node') : [];

/**
 * Compile (or reuse) one native package for `target`; resolves with the directory holding its
 * runtime `.node` files. opts: { projectRoot, cacheDir, runtime, rebuild, jobs, log }.
 */
export async function buildAddon(pkg, target, opts) {
  const { projectRoot, cacheDir, runtime, log } = opts;
  const key = `${pkg.name.replace('/', '+')}-${pkg.version}-${target}-node${runtime.version}`;
  const outDir = join(cacheDir, 'addons', key);
  if (existsSync(join(outDir, '.complete'))) return outDir;
  rmSync(outDir, { recursive: true, force: true });
  const tc = toolchain(target);

  const hostBuilt = releaseNodes(join(pkg.dir, 'build', 'Release'));
  const reuse = !opts.rebuild && target === hostTarget() && hostBuilt.length > 0;
  const tmpOut = `${outDir}.tmp-${process.pid}`;
  rmSync(tmpOut, { recursive: true, force: true });
  mkdirSync(tmpOut, { recursive: true });
  if (reuse) {
    log(`${target}: ${pkg.name}@${pkg.version}: reusing the host's compiled addon`);
    for (const f of hostBuilt) cpSync(join(pkg.dir, 'build', 'Release', f), join(tmpOut, f));
  } else {
    const started = Date.now();
    log(`${target}: ${pkg.name}@${pkg.version}: compiling with node-gyp (${tc.CXX})`);
    const src = join(cacheDir, 'work', key);
    rmSync(src, { recursive: true, force: true });
    cpSync(pkg.dir, src, { recursive: true, filter: (p) => !p.startsWith(join(pkg.dir, 'build')) && !p.startsWith(join(pkg.dir, 'node_modules')) });
    const t = TARGETS[target];
    const env = {
      ...npmEnv(),
      CC: tc.CC,
      CXX: tc.CXX,
      LINK: tc.LINK,
      AR: tc.AR,
      // binding.gyp files run `node -e "require('nan')"` / node-addon-api from their own dir
      NODE_PATH: [join(pkg.dir, 'node_modules'), join(projectRoot, 'node_modules')].join(':'),
    };
    await run(process.execPath, [nodeGypScript(projectRoot), 'rebuild', `--arch=${t.gypArch}`, `--nodedir=${runtime.dir}`, `--jobs=${opts.jobs ?? 2}`], { cwd: src, env });
    const built = releaseNodes(join(src, 'build', 'Release'));
    if (built.length === 0) throw new Error(`${pkg.name}: node-gyp produced no .node file`);
    for (const f of built) cpSync(join(src, 'build', 'Release', f), join(tmpOut, f));
    rmSync(src, { recursive: true, force: true });
    log(`${target}: ${pkg.name}: compiled in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  for (const f of releaseNodes(tmpOut)) {
    assertElfFor(join(tmpOut, f), target);
    await run(tc.STRIP, ['--strip-unneeded', join(tmpOut, f)]);
  }
  writeFileSync(join(tmpOut, '.complete'), JSON.stringify({ reused: reuse }) + '\n');
  renameSync(tmpOut, outDir);
  return outDir;
}

export function addonWasReused(dir) {
  try {
    return JSON.parse(readFileSync(join(dir, '.complete'), 'utf8')).reused === true;
  } catch {
    return false;
  }
}
