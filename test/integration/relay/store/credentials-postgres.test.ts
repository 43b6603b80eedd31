import { PostgresCredentialStore } from '../../../../src/relay/store/credentials-postgres.js';
import { credentialStoreContract } from '../../../helpers/credential-store-contract.js';
import { pgDatabase, pgMissing } from '../../../helpers/postgres.js';

// the shared CredentialStore contract on PostgreSQL (SQLite runs the same: test/unit/relay/store)
credentialStoreContract(
  'postgres',
  async (t) => {
    const db = await pgDatabase(t);
    return {
      open: async () => {
        const s = await PostgresCredentialStore.open(db.url);
        db.closeFirst(() => s.close());
        return s;
      },
    };
  },
  await pgMissing(),
);
