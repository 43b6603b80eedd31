/**
 * PostgreSQL for tests: the server .ci/provision.d/postgres.sh starts (EDGECORE_TEST_PG, or its
 * default URL). Each caller gets a database of its own, dropped when the test ends, so parallel
 * runs never share tables. No server: the tests are skipped ("skipped: …"), under CI=true they fail
 * (test/helpers/service.ts's rule).
 */
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import pg from 'pg';
import { IN_CI } from './service.js';

export const PG_URL = process.env.EDGECORE_TEST_PG ?? 'postgres://edgecore_test:edgecore-test@127.0.0.1:5432/postgres';

/** Run SQL on the server's maintenance database (create/drop databases, watch sessions). */
export async function pgAdmin(sql: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: PG_URL });
  try {
    await c.connect();
  } catch (e) {
    throw new Error(`PostgreSQL is not reachable at ${PG_URL} (run .ci/provision.d/postgres.sh as root): ${String(e)}`);
  }
  try {
    return await c.query(sql, values);
  } finally {
    await c.end();
  }
}

/**
 * A fresh database; its URL. `closeFirst` registers what must close before it is dropped (stores):
 * one after-hook runs them, then drops the database (connections and all).
 */
export async function pgDatabase(t: TestContext): Promise<{ name: string; url: string; closeFirst(fn: () => Promise<void>): void }> {
  const name = `edgecore_t_${process.pid}_${randomBytes(4).toString('hex')}`;
  await pgAdmin(`CREATE DATABASE ${name}`);
  const closers: (() => Promise<void>)[] = [];
  t.after(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    await pgAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return { name, url: url.toString(), closeFirst: (fn) => void closers.push(fn) };
}

/** undefined when PostgreSQL answers; else why the tests skip (under CI: throws) — for test(name, { skip }, fn). */
export async function pgMissing(): Promise<string | undefined> {
  try {
    await pgAdmin('SELECT 1');
    return undefined;
  } catch (e) {
    const why = `skipped: PostgreSQL unavailable (${e instanceof Error ? e.message : String(e)})`;
    if (IN_CI) throw new Error(`${why} — under CI every service must be present`);
    return why;
  }
}
