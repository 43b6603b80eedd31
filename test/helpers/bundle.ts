/** The real bundle (dist/*.js) for tests that run edgecore as a process. Built once if missing. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './tmp.js';

/** `kubectl-edge`: the plugin's executable wrapper (dist/kubectl-edge), the others their bundle. */
export function bundlePath(entry: 'edgecore' | 'edgerelay' | 'edgectl' | 'kubectl-edge'): string {
  const p = join(ROOT, 'dist', entry === 'kubectl-edge' ? entry : `${entry}.js`);
  if (!existsSync(p)) execFileSync(process.execPath, [join(ROOT, 'build.mjs')], { cwd: ROOT, stdio: 'inherit' });
  return p;
}

export interface RunningProcess {
  child: ChildProcess;
  output: () => string;
  /** resolves when the combined output matches, rejects on exit or timeout (which only bounds a failing test) */
  waitFor: (re: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startProcess(entry: 'edgecore' | 'edgerelay' | 'edgectl', args: string[], env: NodeJS.ProcessEnv = {}): RunningProcess {
  const child = spawn(process.execPath, [bundlePath(entry), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiters: (() => void)[] = [];
  const onData = (d: Buffer): void => {
    out += d.toString();
    for (const w of [...waiters]) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const waitFor = (re: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const m = out.match(re);
        if (m) {
          cleanup();
          resolve(m);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${re} in output:\n${out}`));
      }, timeoutMs);
      void exited.then(() => {
        setImmediate(() => {
          check();
          if (waiters.includes(check)) {
            cleanup();
            reject(new Error(`process exited before ${re}; output:\n${out}`));
          }
        });
      });
      const cleanup = (): void => {
        clearTimeout(timer);
        const i = waiters.indexOf(check);
        if (i >= 0) waiters.splice(i, 1);
      };
      waiters.push(check);
      check();
    });
  return { child, output: () => out, waitFor, exited };
}
