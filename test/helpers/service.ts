/**
 * Tests that need a real service (Docker engine, MQTT broker, qemu...) call `needService`.
 * When the service is absent the test is skipped with "skipped: <why>", except under CI=true,
 * where a missing service is a failure: CI provisions every service the tests need.
 */
import type { TestContext } from 'node:test';

export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

/** Returns true when the test may go on; false when it was skipped. Throws under CI. */
export async function needService(t: Pick<TestContext, 'skip'>, name: string, probe: () => Promise<unknown>): Promise<boolean> {
  try {
    await probe();
    return true;
  } catch (e) {
    const why = `skipped: ${name} unavailable (${e instanceof Error ? e.message : String(e)})`;
    if (IN_CI) throw new Error(`${why} — under CI every service must be present`);
    t.skip(why);
    return false;
  }
}
