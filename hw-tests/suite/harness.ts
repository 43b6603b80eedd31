/**
 * A tiny case runner for the guest: one node process runs every case in order (node start costs
 * ~2.5 s under TCG, so no process per file) and writes one JSON result file that the host-side
 * test (test/integration/hil.test.ts) asserts on.
 */
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface CaseResult {
  name: string;
  ok: boolean;
  ms: number;
  detail?: string;
  /** measurements (latencies in ms); informative, never asserted */
  metrics?: Record<string, number | number[]>;
}

export class Fail extends Error {}

export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Fail(message);
}

export function assertEqual<T>(actual: T, expected: T, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Fail(`${what}: expected ${e}, got ${a}`);
}

/**
 * Poll until `probe` returns something other than undefined. Emulated CPUs stall, so the limit is
 * generous; it bounds a hang, it is not a speed assertion.
 */
export async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, limitMs = 20_000, everyMs = 10): Promise<T> {
  const end = Date.now() + limitMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Fail(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await sleep(everyMs);
  }
}

/**
 * Read until the value equals `expected`, then return; fail with the last value read. A level
 * crosses a wire (or the wired rehearsal's fake jumpers) in a moment, not at once; a wrong value
 * still fails, after `limitMs`.
 */
export async function settlesTo<T>(what: string, read: () => T | Promise<T>, expected: T, limitMs = 5_000): Promise<void> {
  const e = JSON.stringify(expected);
  let last: string | undefined;
  try {
    await until(what, async () => ((last = JSON.stringify(await read())) === e ? true : undefined), limitMs, 2);
  } catch {
    throw new Fail(`${what}: expected ${e}, got ${last ?? 'nothing (the read failed)'}`);
  }
}

export class Suite {
  readonly results: CaseResult[] = [];
  private readonly t0 = performance.now();
  private only: RegExp | undefined;

  constructor(readonly name: string, filter?: string) {
    this.only = filter ? new RegExp(filter) : undefined;
  }

  /** Run one case; a thrown error fails it and the suite goes on. */
  async case(name: string, fn: (m: Record<string, number | number[]>) => Promise<string | void>): Promise<boolean> {
    if (this.only && !this.only.test(name)) return true;
    const metrics: Record<string, number | number[]> = {};
    const start = performance.now();
    let ok = true;
    let detail: string | undefined;
    try {
      detail = (await fn(metrics)) ?? undefined;
    } catch (e) {
      ok = false;
      detail = e instanceof Fail ? e.message : e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e);
    }
    const ms = Math.round(performance.now() - start);
    const r: CaseResult = { name, ok, ms, ...(detail ? { detail } : {}), ...(Object.keys(metrics).length ? { metrics } : {}) };
    this.results.push(r);
    process.stdout.write(`${ok ? 'PASS' : 'FAIL'} ${name} (${ms} ms)${detail ? ` — ${detail.split('\n')[0]}` : ''}\n`);
    if (!ok && detail?.includes('\n')) process.stdout.write(detail.split('\n').slice(1, 6).map((l) => `     ${l}\n`).join(''));
    return ok;
  }

  write(file: string, extra: Record<string, unknown>): number {
    const failed = this.results.filter((r) => !r.ok).length;
    const body = {
      suite: this.name,
      ...extra,
      wallMs: Math.round(performance.now() - this.t0),
      passed: this.results.length - failed,
      failed,
      cases: this.results,
    };
    writeFileSync(file, JSON.stringify(body, null, 1));
    return failed;
  }
}

export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
