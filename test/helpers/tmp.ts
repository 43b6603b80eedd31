import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/**
 * A fresh temporary folder, removed when the test ends. The removal never fails the test: an
 * after-hook that throws keeps the hooks after it from running, and a process they would have
 * stopped (still writing into this folder: ENOTEMPTY) then keeps the test file, and CI, alive.
 */
export function tmpDir(t: Pick<TestContext, 'after'>, prefix = 'edgecore-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    } catch (e) {
      process.stderr.write(`tmpDir: ${dir} not removed: ${(e as Error).message}\n`);
    }
  });
  return dir;
}

export const ROOT = process.env.EDGECORE_TEST_ROOT ?? new URL('../..', import.meta.url).pathname;
