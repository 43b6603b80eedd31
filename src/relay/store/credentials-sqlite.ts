/** The CredentialStore of one relay: the RelayStore's SQLite tables (relay.db), behind the async interface. */
import type { CredentialStore } from './credentials.js';
import type { SqliteRelayStore } from './sqlite.js';
import type { NodeRecord } from './types.js';

export class SqliteCredentialStore implements CredentialStore {
  constructor(private readonly db: SqliteRelayStore) {}

  async createToken(tokenHash: string, expiresAt: Date, now: Date): Promise<void> {
    this.db.createToken(tokenHash, expiresAt, now);
  }

  async checkToken(tokenHash: string, now: Date): Promise<boolean> {
    return this.db.checkToken(tokenHash, now);
  }

  async upsertNode(name: string, passwordHash: string, labels: Record<string, string>, now: Date, passwordCheck?: string): Promise<NodeRecord> {
    const n = this.db.upsertNode(name, passwordHash, labels, now, passwordCheck);
    this.db.bumpCredentialsRevision();
    return n;
  }

  async getNode(name: string): Promise<NodeRecord | undefined> {
    return this.db.getNode(name);
  }

  async listNodes(): Promise<NodeRecord[]> {
    return this.db.listNodes();
  }

  async deleteNode(name: string): Promise<boolean> {
    const gone = this.db.deleteNode(name);
    if (gone) this.db.bumpCredentialsRevision();
    return gone;
  }

  async setNodePassword(name: string, passwordHash: string): Promise<boolean> {
    const ok = this.db.setNodePassword(name, passwordHash);
    if (ok) this.db.bumpCredentialsRevision();
    return ok;
  }

  async setPasswordCheck(name: string, passwordHash: string, passwordCheck: string): Promise<void> {
    this.db.setPasswordCheck(name, passwordHash, passwordCheck);
  }

  async allowRejoin(name: string, until: Date): Promise<void> {
    this.db.allowRejoin(name, until);
  }

  async takeRejoin(name: string, now: Date): Promise<boolean> {
    return this.db.takeRejoin(name, now);
  }

  async credentialsRevision(): Promise<number> {
    return this.db.credentialsRevision();
  }

  async bumpCredentialsRevision(): Promise<number> {
    return this.db.bumpCredentialsRevision();
  }

  /** the RelayStore owns the database and closes it */
  async close(): Promise<void> {}
}
