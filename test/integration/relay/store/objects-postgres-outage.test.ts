/**
 * The PostgreSQL ObjectStore when the database goes away: a server restart (every connection cut)
 * and a replica shut out for longer than the window. Watches either resume exactly where they
 * were or end with StoreGoneError — never a silent gap. Restarts the server's cluster: run under
 * the integration lock (test/run.mjs integration).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { test, type TestContext } from 'node:test';
import { StoreGoneError, type StoredEvent, StoreUnavailableError } from '../../../../src/relay/store/objects.js';
import { PostgresObjectStore, type PostgresObjectStoreOptions } from '../../../../src/relay/store/objects-postgres.js';
import { pgUnavailable } from '../../../../src/relay/store/pg-errors.js';
import { pgSession } from '../../../../src/relay/store/pg-session.js';
import { cm, key } from '../../../helpers/object-store-contract.js';
import { PG_URL, pgAdmin, pgDatabase, pgMissing } from '../../../helpers/postgres.js';
import { waitFor } from '../../../helpers/wait.js';

const skip = await pgMissing();

async function backing(t: TestContext) {
  const db = await pgDatabase(t);
  return {
    name: db.name,
    url: db.url,
    open: async (opts: PostgresObjectStoreOptions = {}) => {
      const s = await PostgresObjectStore.open(db.url, { reconnectMs: 100, ...opts });
      db.closeFirst(() => s.close());
      return s;
    },
  };
}

/** the Debian cluster serving PG_URL's port (pg_lsclusters: version, name, port, …) */
function cluster(): [string, string] {
  const port = new URL(PG_URL).port || '5432';
  const row = execFileSync('pg_lsclusters', ['-h'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find((f) => f[2] === port);
  assert.ok(row, `no PostgreSQL cluster on port ${port}`);
  return [row[0]!, row[1]!];
}

/** commit, retrying while the server is coming back (the commit either happened or it did not: a failed one is retried by re-reading) */
async function createEventually(s: PostgresObjectStore, name: string): Promise<void> {
  await waitFor(`create ${name}`, async () => {
    try {
      await s.commit([{ op: 'create', key: key(name), object: cm(name) }]);
      return true;
    } catch (e) {
      // a commit cut off at COMMIT may have landed: then it is there
      if (await s.get(key(name)).catch(() => undefined)) return true;
      throw e;
    }
  });
}

test('a PostgreSQL restart: both replicas reconnect, and a watch resumes from its revision with every change once, in order', { skip }, async (t) => {
  const b = await backing(t);
  const errors: string[] = [];
  const one = await b.open();
  const two = await b.open({ onError: (e) => errors.push(e.message) });
  const seen: StoredEvent[] = [];
  const gone: StoreGoneError[] = [];
  await two.watch(undefined, 0, (e) => seen.push(e), (g) => gone.push(g));
  for (let i = 0; i < 3; i++) await one.commit([{ op: 'create', key: key(`before-${i}`), object: cm(`before-${i}`) }]);
  await waitFor('the watch has the first changes', () => seen.length === 3);

  const [ver, name] = cluster();
  execFileSync('pg_ctlcluster', [ver, name, 'stop', '-m', 'fast'], { stdio: 'ignore' });
  // while it is down, every call says the store is away (no verdict: the relay's reports retry on it, the API answers 503)
  try {
    await assert.rejects(one.commit([{ op: 'create', key: key('during'), object: cm('during') }]), StoreUnavailableError);
    await assert.rejects(two.get(key('before-0')), StoreUnavailableError);
    await assert.rejects(one.list({ group: '', resource: 'configmaps' }), StoreUnavailableError);
  } finally {
    execFileSync('pg_ctlcluster', [ver, name, 'start'], { stdio: 'ignore' });
  }
  // writes through both replicas once the server is back (the pools open new connections)
  for (let i = 0; i < 3; i++) await createEventually(one, `after-one-${i}`);
  for (let i = 0; i < 3; i++) await createEventually(two, `after-two-${i}`);
  const total = await one.revision();
  await waitFor('the watch has every change', () => seen.length >= total);
  assert.deepEqual(
    seen.map((e) => e.revision),
    Array.from({ length: total }, (_, i) => i + 1),
  );
  assert.deepEqual(seen.slice(3).map((e) => e.key.name).sort(), ['after-one-0', 'after-one-1', 'after-one-2', 'after-two-0', 'after-two-1', 'after-two-2']);
  assert.deepEqual(gone, []);
  assert.ok(errors.length > 0, 'the replica saw its connections cut (else this test restarted nothing)');
  // and the live feed works again: a change through the other replica arrives
  await one.commit([{ op: 'create', key: key('last'), object: cm('last') }]);
  await waitFor('the change after the restart arrives', () => seen.some((e) => e.key.name === 'last'));
});

test('a replica shut out for longer than the window: its watches end with StoreGoneError, no event after the gap', { skip }, async (t) => {
  const b = await backing(t);
  const writer = await b.open({ window: 10 });
  const away = await b.open({ window: 10 });
  const seen: number[] = [];
  const gone: StoreGoneError[] = [];
  await away.watch(undefined, 0, (e) => seen.push(e.revision), (g) => gone.push(g));
  await writer.commit([{ op: 'create', key: key('first'), object: cm('first') }]);
  await waitFor('the watch has the first change', () => seen.length === 1);
  // no new connections to this database; cut both replicas' change feeds (their pools stay)
  await pgAdmin(`ALTER DATABASE ${b.name} ALLOW_CONNECTIONS false`);
  await pgAdmin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'edgerelay-changes'", [b.name]);
  // the writer commits through the connections it holds, far past the window
  for (let i = 0; i < 30; i++) await writer.commit([{ op: 'create', key: key(`w-${i}`), object: cm(`w-${i}`) }]);
  assert.ok((await writer.compacted()) > 1);
  await pgAdmin(`ALTER DATABASE ${b.name} ALLOW_CONNECTIONS true`);
  await waitFor('the watch ends with StoreGoneError', () => gone.length === 1);
  assert.ok(gone[0] instanceof StoreGoneError);
  assert.equal(gone[0]!.requested, 1);
  assert.deepEqual(seen, [1]);
  // a new watch from the current revision works (what a client does after relisting)
  const now = await away.revision();
  const again: number[] = [];
  await away.watch(undefined, now, (e) => again.push(e.revision));
  await writer.commit([{ op: 'create', key: key('late'), object: cm('late') }]);
  await waitFor('the new watch is live', () => again.length === 1);
  assert.deepEqual(again, [now + 1]);
});

test('a replica frozen inside a transaction holds the commit lock only until the server ends its idle session; the others go on', { skip }, async (t) => {
  const b = await backing(t);
  const store = await b.open();
  await store.commit([{ op: 'create', key: key('before'), object: cm('before') }]);
  // the frozen replica: a connection opened as the relay opens its own, inside a transaction
  // holding the row every commit locks, and then silent (a process stopped, a host cut off)
  const frozen = new pg.Client(pgSession(b.url, 'edgerelay-frozen', { idleInTransactionMs: 1500 }));
  const ended: Error[] = [];
  frozen.on('error', (e) => ended.push(e));
  await frozen.connect();
  t.after(() => frozen.end().catch(() => undefined));
  await frozen.query('BEGIN');
  await frozen.query('SELECT revision FROM kube_revision WHERE id = 1 FOR UPDATE');
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    store.commit([{ op: 'create', key: key('after'), object: cm('after') }]),
    new Promise((_, reject) => {
      timer = setTimeout(() => {
        // let go of the lock, or the store's close waits on the commit for ever
        void frozen.end().catch(() => undefined);
        reject(new Error('the commit still waits for the frozen replica after 20 s'));
      }, 20_000);
    }),
  ]).finally(() => clearTimeout(timer));
  const waited = Date.now() - t0;
  assert.ok(await store.get(key('after')));
  assert.ok(waited >= 1000, `the commit waited for the lock (${waited} ms)`);
  await waitFor('the frozen session ended by the server', () => ended.length > 0, 10_000);
  assert.equal((ended[0] as { code?: string }).code, '25P03');
  assert.equal(pgUnavailable(ended[0]), true, 'the frozen replica takes it for the store being away (its commit is tried again)');
  // the relay's own sessions carry the limit (30 s by default)
  const own = new pg.Client(pgSession(b.url, 'edgerelay-check'));
  own.on('error', () => undefined);
  await own.connect();
  try {
    assert.equal((await own.query('SHOW idle_in_transaction_session_timeout')).rows[0].idle_in_transaction_session_timeout, '30s');
  } finally {
    await own.end();
  }
});
