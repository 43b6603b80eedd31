import { join } from 'node:path';
import { SqliteObjectStore } from '../../../../src/relay/store/objects-sqlite.js';
import { objectStoreContract } from '../../../helpers/object-store-contract.js';
import { tmpDir } from '../../../helpers/tmp.js';

// the shared ObjectStore contract (PostgreSQL runs the same: test/integration/relay/store)
objectStoreContract('sqlite', async (t) => {
  const file = join(tmpDir(t), 'relay.db');
  const opened: SqliteObjectStore[] = [];
  t.after(async () => {
    for (const s of opened) await s.close();
  });
  return {
    open: async (opts) => {
      const s = SqliteObjectStore.open(file, opts);
      opened.push(s);
      return s;
    },
  };
});
