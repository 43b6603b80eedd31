/**
 * Shared by the packaging tests: build the field artifacts once per inputs (build.mjs
 * --if-changed reuses builds/<target>/ when nothing changed, and the Node runtimes and compiled
 * addons are cached under builds/.cache), and check the tools the tests need.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { needService } from '../../helpers/service.js';
import { ROOT } from '../../helpers/tmp.js';

export const TARGETS = ['linux-arm64', 'linux-armv7', 'linux-x64'] as const;
export type Target = (typeof TARGETS)[number];

export interface BuildInfo {
  target: Target;
  version: string;
  tarball: string;
  sha256: string;
  sizeBytes: number;
  unpackedBytes: number;
  seconds: number;
  addons: { name: string; version: string; files: string[]; reusedHostBuild: boolean }[];
}

export const PACKAGE_VERSION: string = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** Emulator prefix per target (binfmt_misc is not relied upon). */
export const LAUNCHER: Record<Target, string> = {
  'linux-arm64': 'qemu-aarch64-static -L /usr/aarch64-linux-gnu',
  'linux-armv7': 'qemu-arm-static -L /usr/arm-linux-gnueabihf',
  'linux-x64': '',
};
export const NODE_ARCH: Record<Target, string> = { 'linux-arm64': 'arm64', 'linux-armv7': 'arm', 'linux-x64': 'x64' };

/** Skip (fail under CI) unless every command exists. */
export async function needTools(t: TestContext, tools: string[]): Promise<boolean> {
  return needService(t, `tools ${tools.join(', ')}`, async () => {
    const missing = tools.filter((c) => spawnSync('sh', ['-c', `command -v "${c}"`]).status !== 0);
    if (missing.length) throw new Error(`missing: ${missing.join(', ')} (see .ci/provision.d/packaging.sh)`);
  });
}

export const BUILD_TOOLS = ['aarch64-linux-gnu-g++', 'arm-linux-gnueabihf-g++', 'make', 'python3', 'tar', 'gzip'];

/**
 * `node build.mjs --target <t> --if-changed [--version v --out dir]`; returns the build infos.
 * outDir defaults to builds/.
 */
export function ensureArtifacts(target: Target | 'all', opts: { version?: string; outDir?: string } = {}): Record<string, BuildInfo> {
  const outDir = opts.outDir ?? join(ROOT, 'builds');
  const args = ['build.mjs', '--target', target, '--if-changed', '--out', outDir];
  if (opts.version) args.push('--version', opts.version);
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', timeout: 15 * 60_000 });
  if (r.status !== 0) throw new Error(`build failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  const targets = target === 'all' ? TARGETS : [target];
  return Object.fromEntries(
    targets.map((t) => [t, JSON.parse(readFileSync(join(outDir, t, 'build-info.json'), 'utf8')) as BuildInfo]),
  );
}

export function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Run a command; never throws (the tests assert on status and output). */
export function sh(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {}) {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, encoding: 'utf8', timeout: opts.timeoutMs ?? 300_000, input: opts.input });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}`, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/**
 * A relabelled release as an unpacked artifact directory under `tmp`: made from a good tarball,
 * version `badVersion`; when `broken`, its `edgecore run` never becomes healthy: `true` (or
 * 'hang') only sleeps (no READY, no /healthz), 'crash' exits 1 at once. SHA256SUMS is
 * regenerated so it passes verification.
 */
export function makeBadArtifact(tmp: string, goodTarball: string, goodVersion: string, badVersion: string, target = 'linux-x64', broken: boolean | 'hang' | 'crash' = true): string {
  const src = join(tmp, 'unpack-bad');
  mkdirSync(src, { recursive: true });
  assert.equal(sh('tar', ['-xzf', goodTarball, '-C', src]).status, 0);
  const dir = join(tmp, `edgecore-${badVersion}-${target}`);
  cpSync(join(src, `edgecore-${goodVersion}-${target}`), dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, version: badVersion }, null, 2) + '\n');
  const run = broken === 'crash' ? ' run) echo "deliberately broken release: exiting" >&2; exit 1 ;;' : broken ? ' run) exec sleep 3600 ;;' : '';
  writeFileSync(
    join(dir, 'bin/edgecore'),
    `#!/bin/sh\n# relabelled test release${broken ? ' (deliberately broken: "run" never becomes healthy)' : ''}\nhere=$(dirname "$(readlink -f "$0")")\ncase "$1" in --version) echo ${badVersion}; exit 0 ;;${run} esac\nexec "$here/../node/bin/node" "$here/../lib/edgecore.js" "$@"\n`,
  );
  const sums = sh('sh', ['-c', 'find . -type f ! -name SHA256SUMS | LC_ALL=C sort | xargs sha256sum > SHA256SUMS'], { cwd: dir });
  assert.equal(sums.status, 0, sums.out);
  return dir;
}
