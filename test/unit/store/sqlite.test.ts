import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { migrate, openDatabase, schemaVersion, type Migration } from '../../../src/lib/sqlite.js';
import { NODE_MIGRATIONS } from '../../../src/store/migrations/index.js';
import { openNodeStore } from '../../../src/store/store.js';
import { tmpDir } from '../../helpers/tmp.js';

test('the database and its WAL files are private (0600) and WAL is on', (t) => {
  const file = join(tmpDir(t), 'sub', 'x.db');
  const db = openDatabase(file);
  t.after(() => db.close());
  migrate(db, NODE_MIGRATIONS);
  db.prepare("INSERT INTO meta (key, value) VALUES ('a', 'b')").run();
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  assert.ok((db.pragma('busy_timeout', { simple: true }) as number) >= 1000);
});

test('migrations are forward-only: a newer database is refused, a gap in the list is refused', (t) => {
  const db = openDatabase(join(tmpDir(t), 'y.db'));
  t.after(() => db.close());
  migrate(db, NODE_MIGRATIONS);
  assert.equal(schemaVersion(db), NODE_MIGRATIONS.length);
  assert.throws(() => migrate(db, NODE_MIGRATIONS.slice(0, 1)), /newer than this build/);
  const gap: Migration[] = [{ version: 2, name: 'x', up: () => undefined }];
  assert.throws(() => migrate(db, gap), /gap/);
});

test('a failing migration leaves the database at its previous version', (t) => {
  const db = openDatabase(join(tmpDir(t), 'z.db'));
  t.after(() => db.close());
  const ms: Migration[] = [
    { version: 1, name: 'one', up: (d) => d.exec('CREATE TABLE a (x)') },
    {
      version: 2,
      name: 'broken',
      up: (d) => {
        d.exec('CREATE TABLE b (x)');
        throw new Error('half-way');
      },
    },
  ];
  assert.throws(() => migrate(db, ms), /half-way/);
  assert.equal(schemaVersion(db), 1);
  const row = db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'b'").get() as { n: number };
  assert.equal(row.n, 0, 'the half-applied migration was rolled back');
});

test('migration 4 numbers the rows a node already holds 1..n and starts the store revision after them', (t) => {
  const file = join(tmpDir(t), 'old.db');
  const db = openDatabase(file);
  migrate(db, NODE_MIGRATIONS.slice(0, 3));
  const ins = db.prepare("INSERT INTO resources (kind, namespace, name, uid, resource_version, spec, status, origin, created_at, updated_at) VALUES (?, 'default', ?, ?, 1, '{}', NULL, 'cloud', 't', 't')");
  ins.run('Pod', 'b', 'u1');
  ins.run('ConfigMap', 'a', 'u2');
  db.close();
  const s = openNodeStore(file);
  t.after(() => s.close());
  assert.deepEqual(
    [s.resources.get({ kind: 'ConfigMap', namespace: 'default', name: 'a' })!.revision, s.resources.get({ kind: 'Pod', namespace: 'default', name: 'b' })!.revision],
    [1, 2],
  );
  assert.equal(s.resources.revision(), 2);
  assert.equal(s.resources.put({ kind: 'Pod', namespace: 'default', name: 'c' }, {}).resource.revision, 3);
});
