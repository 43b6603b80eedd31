#!/usr/bin/env node
/**
 * Host side, before the guest boots: bundle the HIL suite (hw-tests/suite/main.ts) and the
 * edgecore daemon into hw-tests/.cache/build/, so the guest runs plain JavaScript (compiling
 * TypeScript under emulation would cost seconds per process).
 * The daemon bundle is made by the project's own build.mjs `bundle()` into a private folder,
 * so a parallel `npm test` rebuilding dist/ cannot pull it away mid-run.
 */
import { build } from 'esbuild';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle, NATIVE_EXTERNALS } from '../build.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(process.env.HIL_CACHE ?? join(here, '.cache'), 'build');
// chunks are content-hashed: drop the previous build's, so a stale one can never be shipped
rmSync(join(out, 'chunks'), { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const t0 = Date.now();
await build({
  entryPoints: { suite: join(here, 'suite/main.ts') },
  outdir: out,
  outExtension: { '.js': '.mjs' },
  // parsing JavaScript is slow under emulation: lazily loaded parts (yaml for wiring files, the
  // daemon cases' store code) go to chunks that load only when used
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  minifySyntax: true,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  external: NATIVE_EXTERNALS,
  banner: { js: "import { createRequire as __hilRequire } from 'node:module'; const require = __hilRequire(import.meta.url);" },
  logLevel: 'warning',
});
await bundle(join(out, 'dist'));
process.stdout.write(`hil: bundled suite and edgecore into ${out} in ${Date.now() - t0} ms\n`);
