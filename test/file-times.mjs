/**
 * A second reporter for `npm test` (test/run.mjs): after the run, the test files that took longest,
 * each with the sum of its top-level tests' durations, and the sum over every file. CI's budget is
 * spent by a few long files; this says which, from the run itself.
 */
import { relative } from 'node:path';

const SHOWN = 15;

export default async function* fileTimes(source) {
  const perFile = new Map();
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { nesting, file, details } = event.data;
    if (nesting !== 0 || !file || typeof details?.duration_ms !== 'number') continue;
    perFile.set(file, (perFile.get(file) ?? 0) + details.duration_ms);
  }
  if (perFile.size === 0) return;
  const root = process.env.EDGECORE_TEST_ROOT ?? process.cwd();
  const rows = [...perFile].sort((a, b) => b[1] - a[1]);
  const total = rows.reduce((s, [, ms]) => s + ms, 0);
  yield `\n# slowest test files (sum of their top-level tests; ${rows.length} file${rows.length === 1 ? '' : 's'}, ${(total / 1000).toFixed(0)} s in all)\n`;
  for (const [file, ms] of rows.slice(0, SHOWN)) yield `#   ${(ms / 1000).toFixed(1).padStart(7)} s  ${relative(root, file)}\n`;
}
