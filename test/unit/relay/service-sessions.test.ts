/** Which live sessions the relay closes when node credentials change (rotated or deleted elsewhere). */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { nullLogger } from '../../../src/core/logger.js';
import { hashPassword, LOCKED_PASSWORD_HASH, passwordCheck } from '../../../src/relay/auth.js';
import { parseRelayConfig } from '../../../src/relay/config.js';
import { RelayService } from '../../../src/relay/service.js';
import { SqliteCredentialStore } from '../../../src/relay/store/credentials-sqlite.js';
import { SqliteRelayStore } from '../../../src/relay/store/sqlite.js';
import { tmpDir } from '../../helpers/tmp.js';

const now = () => new Date('2026-11-27T12:00:00Z');

/** a relay's store in a fresh directory; `service()` is a new RelayService on it (a relay process that starts: nothing cached) */
function relayOn(t: TestContext) {
  const dir = tmpDir(t, 'ec-sess-');
  const db = SqliteRelayStore.open(join(dir, 'r.db'));
  t.after(() => db.close());
  const credentials = new SqliteCredentialStore(db);
  const service = () => new RelayService({ config: parseRelayConfig({ dataDir: dir }), store: db, credentials, log: nullLogger(), now, brokerUrlsFor: () => ['mqtt://x'], registerNode: async () => undefined });
  return { db, credentials, service };
}

test('credentialsChanged: only a session admitted with a node password is judged — a consumer or other client is never closed for it', async (t) => {
  const { credentials, service: relay } = relayOn(t);
  const service = relay();
  await credentials.upsertNode('pi-1', hashPassword('secret'), {}, now());
  // a consumer of the app channel, or any client that is no node: not ours to close
  assert.equal(await service.credentialsChanged('app.ingest'), false);
  // a node not admitted here yet: nothing to judge
  assert.equal(await service.credentialsChanged('pi-1'), false);
  assert.equal(await service.authenticate('pi-1', 'secret'), true);
  assert.equal(await service.credentialsChanged('pi-1'), false, 'same password stored');
  // rotated in another process / replica
  await credentials.upsertNode('pi-1', hashPassword('other'), {}, now());
  assert.equal(await service.credentialsChanged('pi-1'), true);
  // deleted after it was admitted
  assert.equal(await service.authenticate('pi-1', 'other'), true);
  await credentials.deleteNode('pi-1');
  assert.equal(await service.credentialsChanged('pi-1'), true);
});

test('authenticate: a join stores a check beside the hash, and a relay that starts admits with it — no PBKDF2; anything else falls back to the hash', async (t) => {
  const { db, credentials, service: fresh } = relayOn(t);
  const pbkdf2Checks = (hash: string): number => Number(/^\$7\$(\d+)\$/.exec(hash)?.[1]);

  // a join writes both: the check is bound to the stored hash
  const admin = fresh();
  const { token } = await admin.createToken(600);
  const joined = (await admin.join({ token, node: 'pi-1' }, 'relay.local')).response;
  const row = (await credentials.getNode('pi-1'))!;
  assert.equal(row.passwordCheck, passwordCheck(joined.password, row.passwordHash));
  assert.ok(pbkdf2Checks(row.passwordHash) >= 1000, 'the $7$ hash stays (mosquitto reads it)');

  // The check alone admits: a hash no password matches under PBKDF2 but with the right check is
  // accepted by a new relay process (empty cache) — so PBKDF2 was not what decided.
  const decoy = hashPassword('something else');
  await credentials.upsertNode('pi-2', decoy, {}, now(), passwordCheck('secret-2', decoy));
  assert.equal(await fresh().authenticate('pi-2', 'secret-2'), true);
  assert.equal(await fresh().authenticate('pi-2', 'wrong'), false);
  // … and the authoritative hash still admits its own password (a check that does not match falls back)
  assert.equal(await fresh().authenticate('pi-2', 'something else'), true);
  assert.equal((await credentials.getNode('pi-2'))?.passwordCheck, passwordCheck('something else', decoy), 'stored after the PBKDF2 check');
  assert.equal(await fresh().authenticate('pi-2', 'secret-2'), false, 'the old check was replaced');

  // a node that joined before checks existed: PBKDF2 once, then its check is stored
  const old = hashPassword('legacy');
  await credentials.upsertNode('pi-3', old, {}, now());
  assert.equal((await credentials.getNode('pi-3'))?.passwordCheck, undefined);
  assert.equal(await fresh().authenticate('pi-3', 'nope'), false);
  assert.equal((await credentials.getNode('pi-3'))?.passwordCheck, undefined, 'a failed check stores nothing');
  assert.equal(await fresh().authenticate('pi-3', 'legacy'), true);
  assert.equal((await credentials.getNode('pi-3'))?.passwordCheck, passwordCheck('legacy', old));

  // a hash replaced without its check (a relay of an older version re-joining the node): the old
  // password is refused — the check is bound to the hash it was made with
  const replaced = hashPassword('new-one');
  db.setNodePassword('pi-3', replaced); // drops the check, as rotation does …
  db.setPasswordCheck('pi-3', replaced, passwordCheck('legacy', old)); // … and a stale one written back
  assert.equal(await fresh().authenticate('pi-3', 'legacy'), false);
  assert.equal(await fresh().authenticate('pi-3', 'new-one'), true);

  // locked by rotation: nothing admits
  await credentials.setNodePassword('pi-1', LOCKED_PASSWORD_HASH);
  assert.equal(await fresh().authenticate('pi-1', joined.password), false);
});
