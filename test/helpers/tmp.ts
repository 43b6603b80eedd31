import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

/** A fresh temporary folder, removed when the test ends. */
export function tmpDir(t: Pick<TestContext, 'after'>, prefix = 'edgecore-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export const ROOT = process.env.EDGECORE_TEST_ROOT ?? new URL('../..', import.meta.url).pathname;
