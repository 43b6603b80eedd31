/** Shared bits of the bench scripts: process RSS, percentiles, spawn-until-line. No test framework. */
import { spawn } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DAEMON_NODE_FLAGS } from '../scripts/build/artifact.mjs';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Resident set size of a live process, in KiB (from /proc). */
export function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

export function percentile(values, p) {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i];
}

export const median = (v) => percentile(v, 50);

/**
 * node's flags for the daemon under bench: what the artifact's launcher gives it
 * (scripts/build/artifact.mjs), or BENCH_NODE_FLAGS when set ("" for V8's defaults).
 */
export const daemonNodeFlags = () =>
  process.env.BENCH_NODE_FLAGS !== undefined ? process.env.BENCH_NODE_FLAGS.split(' ').filter(Boolean) : DAEMON_NODE_FLAGS;
export const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Spawn and resolve once stdout/stderr matches `re` (with the child and ms elapsed). */
export function spawnUntil(cmd, args, re, { timeoutMs = 30_000, env = {} } = {}) {
  const t0 = process.hrtime.bigint();
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timeout waiting for ${re}: ${out.slice(-2000)}`));
    }, timeoutMs);
    const on = (d) => {
      out += d;
      if (re.test(out)) {
        clearTimeout(timer);
        resolve({ child, ms: Number(process.hrtime.bigint() - t0) / 1e6, output: () => out });
      }
    };
    child.stdout.on('data', on);
    child.stderr.on('data', on);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before ${re}: ${out.slice(-2000)}`));
    });
  });
}

export function stop(child) {
  return new Promise((r) => {
    if (child.exitCode !== null) return r(child.exitCode);
    child.once('exit', (c) => r(c));
    child.kill('SIGTERM');
  });
}

/** A throwaway edgecore config (private data dir, ephemeral ports); returns {file, cleanup}. */
export function benchConfig(modules = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'edgecore-bench-'));
  const file = join(dir, 'edgecore.yaml');
  writeFileSync(
    file,
    JSON.stringify({
      node: { name: 'bench-node' },
      dataDir: join(dir, 'data'),
      log: { level: 'info', format: 'json' },
      ops: { port: 0 },
      modules: { metamanager: { api: { port: 0 } }, eventbus: { port: 0 }, edged: { staticPodPath: join(dir, 'manifests') }, ...modules },
    }),
  );
  return { dir, file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function emit(name, figures) {
  process.stdout.write(JSON.stringify({ bench: name, node: process.version, at: new Date().toISOString(), ...figures }, null, 2) + '\n');
}
