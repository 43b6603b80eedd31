/**
 * Two things about builds/ and the build cache, with real linux-x64 builds (runtime and addons
 * come from the shared cache): a build waits for another one holding the same `--cache` instead of
 * failing, and building a second version into the same output keeps the first one's tarball.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tmpDir, ROOT } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';
import { BUILD_TOOLS, needTools, PACKAGE_VERSION } from './helpers.js';

const CACHE = join(ROOT, 'builds/.cache');

function build(version: string, out: string) {
  const child = spawn(process.execPath, ['build.mjs', '--target', 'linux-x64', '--version', version, '--out', out, '--cache', CACHE], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const done = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, output: () => output, done };
}

test('a build waits for the build holding its cache, then runs; a second version keeps the first tarball', async (t) => {
  if (!(await needTools(t, BUILD_TOOLS))) return;
  const out = tmpDir(t, 'edgecore-builds-');
  // hold the cache lock the way a build does (this waits, too, if another build has it now)
  const holder = spawn(
    process.execPath,
    ['-e', `import(${JSON.stringify(join(ROOT, 'scripts/build/field.mjs'))}).then(async (m) => { const release = await m.lockCache(process.argv[1]); console.log('locked'); process.stdin.once('data', () => { release(); process.exit(0); }); })`, CACHE],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  t.after(() => holder.kill('SIGKILL'));
  let held = '';
  holder.stdout.on('data', (d) => (held += d));
  await waitFor('the cache lock held by the test', () => held.includes('locked'), 15 * 60_000, 200);

  const a = build(`${PACKAGE_VERSION}-keep.1`, out);
  t.after(() => a.child.kill('SIGKILL'));
  await waitFor(`the build waiting for pid ${holder.pid}`, () => a.output().includes(`waiting for another build (pid ${holder.pid})`), 120_000, 100);
  assert.equal(a.child.exitCode, null, `the build gave up instead of waiting:\n${a.output()}`);
  holder.stdin.write('go\n');
  assert.equal(await a.done, 0, a.output());

  const b = build(`${PACKAGE_VERSION}-keep.2`, out);
  assert.equal(await b.done, 0, b.output());
  const dir = join(out, 'linux-x64');
  for (const v of ['keep.1', 'keep.2']) {
    assert.ok(existsSync(join(dir, `edgecore-${PACKAGE_VERSION}-${v}-linux-x64.tar.gz`)), `${v} tarball kept`);
    assert.ok(existsSync(join(dir, `edgecore-${PACKAGE_VERSION}-${v}-linux-x64.tar.gz.sha256`)), `${v} checksum kept`);
  }
  assert.equal(JSON.parse(readFileSync(join(dir, 'build-info.json'), 'utf8')).version, `${PACKAGE_VERSION}-keep.2`, 'build-info describes the latest build');
});
