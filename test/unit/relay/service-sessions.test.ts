/** Which live sessions the relay closes when node credentials change (rotated or deleted elsewhere). */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { nullLogger } from '../../../src/core/logger.js';
import { hashPassword } from '../../../src/relay/auth.js';
import { parseRelayConfig } from '../../../src/relay/config.js';
import { RelayService } from '../../../src/relay/service.js';
import { SqliteCredentialStore } from '../../../src/relay/store/credentials-sqlite.js';
import { SqliteRelayStore } from '../../../src/relay/store/sqlite.js';
import { tmpDir } from '../../helpers/tmp.js';

test('credentialsChanged: only a session admitted with a node password is judged — a consumer or other client is never closed for it', async (t) => {
  const dir = tmpDir(t, 'ec-sess-');
  const db = SqliteRelayStore.open(join(dir, 'r.db'));
  t.after(() => db.close());
  const credentials = new SqliteCredentialStore(db);
  const now = () => new Date('2026-11-27T12:00:00Z');
  const service = new RelayService({ config: parseRelayConfig({ dataDir: dir }), store: db, credentials, log: nullLogger(), now, brokerUrlsFor: () => ['mqtt://x'], registerNode: async () => undefined });
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
