#!/usr/bin/env node
/**
 * The relay's object store on PostgreSQL (issue 19, docs/scale.md), on loopback.
 *
 * - commits/s with WRITERS concurrent writers: SQLite (same-run baseline), PostgreSQL with one
 *   replica, PostgreSQL with two replicas (writers split between them);
 * - cross-replica watch delay: from a commit's start on replica 1 to the event on replica 2's
 *   watch (p50/p99 over EVENTS sequential commits), against the same commit resolving on replica 1
 *   (its own watchers have the change by then);
 * - what ordering costs: raw transactions (log row + revision) with WRITERS clients, revision
 *   from a sequence (fast, but commit order ≠ revision order: unsafe for watchers), from the
 *   one counter row locked FOR UPDATE (what the store does), and under an advisory lock.
 *
 *   node bench/store-pg.mjs     (COMMITS=2000 WRITERS=8 EVENTS=200; EDGECORE_TEST_PG = a role that may create databases)
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { register } from 'tsx/esm/api';
import { emit, percentile, round } from './lib.mjs';

register();
const src = (p) => import(new URL(`../src/${p}`, import.meta.url).href);
const { SqliteObjectStore } = await src('relay/store/objects-sqlite.ts');
const { PostgresObjectStore } = await src('relay/store/objects-postgres.ts');

const COMMITS = Number(process.env.COMMITS ?? 2000);
const WRITERS = Number(process.env.WRITERS ?? 8);
const EVENTS = Number(process.env.EVENTS ?? 200);
const BASE = process.env.EDGECORE_TEST_PG ?? 'postgres://edgecore_test:edgecore-test@127.0.0.1:5432/postgres';
const progress = (m) => (process.env.QUIET ? undefined : process.stderr.write(`[store-pg] ${m}\n`));

async function admin(sql) {
  const c = new pg.Client({ connectionString: BASE });
  await c.connect();
  try {
    return await c.query(sql);
  } finally {
    await c.end();
  }
}

async function database() {
  const name = `edgecore_bench_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  const u = new URL(BASE);
  u.pathname = `/${name}`;
  return { url: u.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

const cm = (name) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { v: 'x'.repeat(200) } });
const key = (name) => ({ group: '', resource: 'configmaps', namespace: 'default', name });

/** COMMITS creates spread over WRITERS writers, each on stores[i % stores.length]: commits/s */
async function throughput(stores, label) {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, w) => {
      const s = stores[w % stores.length];
      for (let i; (i = next++) < COMMITS; ) await s.commit([{ op: 'create', key: key(`${label}-${i}`), object: cm(`${label}-${i}`) }]);
    }),
  );
  return round(COMMITS / ((performance.now() - t0) / 1000), 0);
}

const out = { commits: COMMITS, writers: WRITERS };

const dir = mkdtempSync(join(tmpdir(), 'store-pg-bench-'));
try {
  progress('sqlite baseline');
  const s = SqliteObjectStore.open(join(dir, 'relay.db'));
  out.sqliteCommitsPerSecond = await throughput([s], 'sq');
  await s.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

for (const replicas of [1, 2]) {
  progress(`postgres, ${replicas} replica(s)`);
  const db = await database();
  const stores = [];
  try {
    for (let i = 0; i < replicas; i++) stores.push(await PostgresObjectStore.open(db.url));
    out[`postgres${replicas}ReplicaCommitsPerSecond`] = await throughput(stores, 'pg');
    if (replicas === 2) {
      progress('cross-replica watch delay');
      const waiting = new Map();
      await stores[1].watch(undefined, await stores[1].revision(), (e) => waiting.get(e.key.name)?.());
      const own = [];
      const other = [];
      for (let i = 0; i < EVENTS; i++) {
        const name = `delay-${i}`;
        const seen = new Promise((r) => waiting.set(name, () => r(performance.now())));
        const t0 = performance.now();
        await stores[0].commit([{ op: 'create', key: key(name), object: cm(name) }]);
        own.push(performance.now() - t0);
        other.push((await seen) - t0);
      }
      const ms = (v) => ({ p50: round(percentile(v, 50), 2), p99: round(percentile(v, 99), 2) });
      // baseline: the commit resolving on replica 1 (its own watchers have the change then)
      out.commitOnReplica1Ms = ms(own);
      out.eventOnReplica2Ms = ms(other);
    }
  } finally {
    for (const st of stores) await st.close();
    await db.drop();
  }
}

progress('ordering strategies (raw transactions)');
const db = await database();
try {
  const pool = new pg.Pool({ connectionString: db.url, max: WRITERS });
  await pool.query('CREATE SEQUENCE rev_seq; CREATE TABLE counter (id int PRIMARY KEY, revision bigint NOT NULL); INSERT INTO counter VALUES (1, 0); CREATE TABLE log (revision bigint PRIMARY KEY, object text NOT NULL)');
  const body = JSON.stringify(cm('x'));
  const strategies = {
    sequenceUnordered: async (c) => {
      await c.query("INSERT INTO log VALUES (nextval('rev_seq'), $1)", [body]);
    },
    rowLock: async (c) => {
      const r = await c.query('SELECT revision FROM counter WHERE id = 1 FOR UPDATE');
      const rev = Number(r.rows[0].revision) + 1;
      await c.query('INSERT INTO log VALUES ($1, $2)', [rev, body]);
      await c.query('UPDATE counter SET revision = $1 WHERE id = 1', [rev]);
    },
    advisoryLock: async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(42)');
      const r = await c.query('SELECT revision FROM counter WHERE id = 1');
      const rev = Number(r.rows[0].revision) + 1;
      await c.query('INSERT INTO log VALUES ($1, $2)', [rev, body]);
      await c.query('UPDATE counter SET revision = $1 WHERE id = 1', [rev]);
    },
  };
  out.rawTransactionsPerSecond = {};
  for (const [name, tx] of Object.entries(strategies)) {
    await pool.query('TRUNCATE log; UPDATE counter SET revision = (SELECT last_value FROM rev_seq) + 1000000');
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        const c = await pool.connect();
        try {
          while (next++ < COMMITS) {
            await c.query('BEGIN');
            await tx(c);
            await c.query('COMMIT');
          }
        } finally {
          c.release();
        }
      }),
    );
    out.rawTransactionsPerSecond[name] = round(COMMITS / ((performance.now() - t0) / 1000), 0);
  }
  await pool.end();
} finally {
  await db.drop();
}

emit('store-pg', out);
