#!/usr/bin/env node
/**
 * `npm test`: typecheck and lint (tsc, then Biome's linter: biome.json), bundle, then run the unit
 * and integration tests with node's test runner (TypeScript loaded through tsx).
 * `node test/run.mjs unit|integration [filter]` runs one part.
 * Integration tests run one file at a time: they share one Docker engine and one broker.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const [part, filter] = process.argv.slice(2);
const parts = part ? [part] : ['unit', 'integration'];

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

if (!filter) {
  run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', 'tsconfig.json']);
  run(process.execPath, [join(root, 'node_modules/@biomejs/biome/bin/biome'), 'lint', '--error-on-warnings']);
  run(process.execPath, ['build.mjs']);
}
const files = parts.flatMap((p) => find(join(root, 'test', p))).filter((f) => !filter || relative(root, f).includes(filter));
if (files.length === 0) {
  console.error(`no test files match ${filter ?? ''}`);
  process.exit(1);
}
console.log(`running ${files.length} test file(s): ${files.map((f) => relative(root, f)).join(' ')}`);
// node's own choice of reporter (spec on a terminal, TAP otherwise), then the slowest files (test/file-times.mjs)
const reporters = [`--test-reporter=${process.stdout.isTTY ? 'spec' : 'tap'}`, '--test-reporter-destination=stdout', `--test-reporter=${join(root, 'test/file-times.mjs')}`, '--test-reporter-destination=stdout'];
run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...reporters, ...files], {
  env: { ...process.env, EDGECORE_TEST_ROOT: root },
});
