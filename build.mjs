#!/usr/bin/env node
/**
 * Bundles each entry (edgecore, edgerelay, edgectl) into one ESM file in dist/, with a source
 * map beside it. Native addons (and the packages that load them by path) stay external: they
 * are installed next to the bundle (node_modules) or shipped per target by `--target`.
 *
 *   node build.mjs            -> dist/{edgecore,edgerelay,edgectl}.js (+ .map)
 */
import { build } from 'esbuild';
import { chmodSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** Packages with native addons (or optional native parts) that must not be bundled. */
export const NATIVE_EXTERNALS = [
  'better-sqlite3',
  'onoff',
  'epoll',
  'i2c-bus',
  'serialport',
  '@serialport/*',
  'ssh2',
  'cpu-features',
];

export const ENTRIES = ['edgecore', 'edgerelay', 'edgectl'];

export async function bundle(outdir = join(root, 'dist')) {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const started = Date.now();
  await build({
    entryPoints: Object.fromEntries(ENTRIES.map((e) => [e, join(root, 'src/entry', `${e}.ts`)])),
    outdir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    sourcemap: 'linked',
    // Modules are imported lazily (src/node/modules.ts): a disabled module's code and its
    // libraries are never loaded, which keeps the idle footprint down.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    minifySyntax: true,
    legalComments: 'linked',
    external: NATIVE_EXTERNALS,
    define: { __EDGECORE_VERSION__: JSON.stringify(pkg.version) },
    // ESM output still meets CommonJS dependencies that call require()/__dirname.
    banner: {
      js: [
        "import { createRequire as __ecCreateRequire } from 'node:module';",
        "import { fileURLToPath as __ecFileURLToPath } from 'node:url';",
        "import { dirname as __ecDirname } from 'node:path';",
        'const require = __ecCreateRequire(import.meta.url);',
        'const __filename = __ecFileURLToPath(import.meta.url);',
        'const __dirname = __ecDirname(__filename);',
      ].join('\n'),
    },
    logLevel: 'warning',
  });
  for (const e of ENTRIES) chmodSync(join(outdir, `${e}.js`), 0o755);
  return { outdir, ms: Date.now() - started };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { outdir, ms } = await bundle();
  process.stdout.write(`bundled ${ENTRIES.join(', ')} into ${outdir} in ${ms} ms\n`);
}
