import { join } from 'node:path';
import { SqliteCredentialStore } from '../../../../src/relay/store/credentials-sqlite.js';
import { SqliteRelayStore } from '../../../../src/relay/store/sqlite.js';
import { credentialStoreContract } from '../../../helpers/credential-store-contract.js';
import { tmpDir } from '../../../helpers/tmp.js';

// the shared CredentialStore contract (PostgreSQL runs the same: test/integration/relay/store)
credentialStoreContract('sqlite', async (t) => {
  const file = join(tmpDir(t), 'relay.db');
  const opened: SqliteRelayStore[] = [];
  t.after(() => {
    for (const s of opened) s.close();
  });
  return {
    open: async () => {
      const db = SqliteRelayStore.open(file);
      opened.push(db);
      return new SqliteCredentialStore(db);
    },
  };
});
