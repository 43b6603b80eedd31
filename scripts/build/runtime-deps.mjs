/**
 * The runtime node_modules of an artifact: the packages the bundles leave external (and the
 * native packages every artifact ships), with their dependencies, copied from the project's
 * installed node_modules without sources, tests, docs or host binaries. Native packages get
 * the `.node` files compiled for the target (see native.mjs) under build/Release/.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

function readPkg(dir) {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
}

/** Node's lookup: <from>/node_modules/<name>, then each parent's node_modules, up to `top`. */
function resolvePackageDir(name, fromDir, top) {
  let dir = fromDir;
  for (;;) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === top || dirname(dir) === dir) return null;
    dir = dirname(dir);
  }
}

/**
 * The packages reachable from `roots` through `dependencies` (optional dependencies are left
 * out: they are optional by definition, and here they are native extras such as cpu-features).
 * Returns [{ name, version, dir, rel }], rel being the path under node_modules/.
 */
export function runtimeClosure(projectRoot, roots) {
  const top = projectRoot;
  const seen = new Map();
  const queue = roots.map((name) => ({ name, from: projectRoot }));
  while (queue.length) {
    const { name, from } = queue.shift();
    const dir = resolvePackageDir(name, from, top);
    if (!dir) throw new Error(`runtime package ${name} (needed from ${relative(top, from) || '.'}) is not installed: run npm ci`);
    if (seen.has(dir)) continue;
    const pkg = readPkg(dir);
    const rel = relative(join(top, 'node_modules'), dir).split(sep).join('/');
    seen.set(dir, { name, version: pkg.version, dir, rel });
    for (const dep of Object.keys(pkg.dependencies ?? {})) queue.push({ name: dep, from: dir });
  }
  return [...seen.values()].sort((a, b) => a.rel.localeCompare(b.rel));
}

const SKIP_DIRS = new Set(['node_modules', '.github', 'test', 'tests', '__tests__', 'docs', 'doc', 'example', 'examples', 'benchmark', 'benchmarks', '.bin', 'prebuilds']);
const SKIP_FILE = /(\.md|\.markdown|\.ts|\.map|\.gyp|\.gypi|\.node|\.o|\.a|\.cc|\.cpp|\.c|\.h|\.hpp|\.tsbuildinfo|\.npmignore|\.eslintrc.*|\.editorconfig|\.travis\.yml|Makefile)$/i;
const KEEP_FILE = /^(LICEN[CS]E|COPYING|NOTICE)/i;
/** Native packages drop their sources and build tree wholesale; only the runtime JS remains. */
const NATIVE_SKIP_DIRS = new Set(['build', 'deps', 'src']);

function filterFor(pkgDir, native) {
  return (src) => {
    if (src === pkgDir) return true;
    const rel = relative(pkgDir, src);
    const parts = rel.split(sep);
    const base = parts[parts.length - 1];
    let isDir = false;
    try {
      isDir = statSync(src).isDirectory();
    } catch {
      return false;
    }
    if (isDir) {
      if (SKIP_DIRS.has(base)) return false;
      if (native && parts.length === 1 && NATIVE_SKIP_DIRS.has(base)) return false;
      // a node-gyp output tree inside a JS package (e.g. ssh2's optional crypto binding)
      if (base === 'build' && existsSync(join(src, 'config.gypi'))) return false;
      return true;
    }
    if (KEEP_FILE.test(base)) return true;
    if (base.endsWith('.d.ts') || SKIP_FILE.test(base)) return false;
    return true;
  };
}

/**
 * Copy the closure into `destNodeModules`; `addons` maps a native package name to the
 * directory holding its target `.node` files, placed under <pkg>/build/Release/.
 */
export function stageRuntime(closure, destNodeModules, addons, nativeNames) {
  for (const p of closure) {
    const native = nativeNames.includes(p.name);
    const dest = join(destNodeModules, ...p.rel.split('/'));
    mkdirSync(dest, { recursive: true });
    cpSync(p.dir, dest, { recursive: true, filter: filterFor(p.dir, native), dereference: true });
    if (native) {
      const from = addons.get(p.name);
      if (!from) throw new Error(`no compiled addon for ${p.name}`);
      const release = join(dest, 'build', 'Release');
      mkdirSync(release, { recursive: true });
      for (const f of readdirSync(from).filter((f) => f.endsWith('.node'))) cpSync(join(from, f), join(release, f));
    }
  }
}
