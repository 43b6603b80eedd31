/**
 * Real pseudo-terminal pairs from socat: the driver opens one end, a device simulator the other.
 * `stop()` kills socat (the cable is pulled); `start()` makes a new pair under the same names.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { sleep } from '../../../src/core/backoff.js';
import { needService } from '../../helpers/service.js';

export interface PtyPair {
  /** the driver's end */
  a: string;
  /** the simulator's end */
  b: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function needSocat(t: TestContext): Promise<boolean> {
  return needService(t, 'socat', async () => {
    const r = spawnSync('socat', ['-V']);
    if (r.error || r.status !== 0) throw r.error ?? new Error(`socat -V exited ${r.status}`);
  });
}

export async function ptyPair(t: TestContext, dir: string, a = 'ttyA', b = 'ttyB'): Promise<PtyPair> {
  const pa = join(dir, a);
  const pb = join(dir, b);
  let child: ChildProcess | undefined;
  const pair: PtyPair = {
    a: pa,
    b: pb,
    async start() {
      if (child) return;
      const c = spawn('socat', [`pty,raw,echo=0,link=${pa}`, `pty,raw,echo=0,link=${pb}`], { stdio: 'ignore' });
      child = c;
      c.once('exit', () => {
        if (child === c) child = undefined;
      });
      // the bound only ends a failing wait (socat starts slowly on a busy machine)
      const end = Date.now() + 30_000;
      while (Date.now() < end && child === c && !(existsSync(pa) && existsSync(pb))) await sleep(10);
      if (!existsSync(pa) || !existsSync(pb)) throw new Error(`socat did not create the pty links${child === c ? '' : ' (it exited)'}`);
    },
    async stop() {
      const c = child;
      if (!c) return;
      child = undefined;
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await gone;
      const end = Date.now() + 30_000;
      while (Date.now() < end && (existsSync(pa) || existsSync(pb))) await sleep(10);
    },
  };
  t.after(() => pair.stop());
  await pair.start();
  return pair;
}
