/**
 * The API's two bearer tokens — admin and read-only — and what each may do. A token comes from
 * the config (`api.adminToken`, `api.readOnlyToken`: fixed) or from a file in the data dir
 * (generated on first start, 0600, rotatable with `edgerelay rotate admin-token|read-only-token`).
 * A file token is re-read whenever its file changes, so a rotation by another process refuses
 * the old token at the next request. Comparison is constant-time over SHA-256 digests. Nothing
 * else authenticates to the API: not a node's MQTT password, not a bootstrap token, not Basic.
 * What each identity may do is the API server's policy (src/relay/apiserver/authz.ts).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { newSecret } from './auth.js';
import { ADMIN, READ_ONLY, type Identity } from './apiserver/authz.js';
import type { RelayConfig } from './config.js';
import { writePrivate } from './mosquitto.js';

export type ApiUser = 'admin' | 'read-only';

/** The identity a token stands for: the API server's own (`user` is 'admin' or 'read-only'). */
const IDENTITY: Record<ApiUser, Identity> = { admin: ADMIN, 'read-only': READ_ONLY };

export const API_USERS: readonly ApiUser[] = ['admin', 'read-only'];
const PREFIX: Record<ApiUser, string> = { admin: 'eca.', 'read-only': 'ecr.' };
const FILE: Record<ApiUser, string> = { admin: 'admin-token', 'read-only': 'read-only-token' };

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export function tokenFile(c: RelayConfig, user: ApiUser): string {
  return join(c.dataDir, FILE[user]);
}

function configuredToken(c: RelayConfig, user: ApiUser): string {
  return user === 'admin' ? c.api.adminToken : c.api.readOnlyToken;
}

/** One token: configured (fixed) or a data-dir file, re-read when the file changes. */
class TokenSource {
  private stamp = '';
  private value = '';
  private hash: Buffer = Buffer.alloc(32);

  constructor(
    private readonly file: string,
    private readonly configured: string,
  ) {
    if (configured) {
      this.value = configured;
      this.hash = digest(configured);
    }
  }

  current(): { value: string; hash: Buffer } {
    if (this.configured) return { value: this.value, hash: this.hash };
    let stamp = '';
    try {
      const s = statSync(this.file);
      stamp = `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch {
      stamp = 'missing';
    }
    if (stamp !== this.stamp) {
      this.stamp = stamp;
      this.value = stamp === 'missing' ? '' : readFileSync(this.file, 'utf8').trim();
      // a missing or empty file matches nothing (a digest no presented token can have is not needed:
      // an empty token is refused before comparison)
      this.hash = digest(this.value);
    }
    return { value: this.value, hash: this.hash };
  }
}

export class ApiTokens {
  private constructor(private readonly sources: Record<ApiUser, TokenSource>) {}

  /** Generates the missing token files (first start), then reads tokens on demand. */
  static open(c: RelayConfig): ApiTokens {
    const sources = {} as Record<ApiUser, TokenSource>;
    for (const user of API_USERS) {
      const file = tokenFile(c, user);
      const configured = configuredToken(c, user);
      if (!configured && !existsSync(file)) writePrivate(file, `${PREFIX[user]}${newSecret(24)}\n`);
      sources[user] = new TokenSource(file, configured);
    }
    return new ApiTokens(sources);
  }

  /** Replace a generated token; the old one is refused from the next request on (any process). */
  static rotate(c: RelayConfig, user: ApiUser): string {
    if (configuredToken(c, user)) throw new Error(`the ${user} token is set in the config (api.${user === 'admin' ? 'adminToken' : 'readOnlyToken'}): change it there and restart`);
    const token = `${PREFIX[user]}${newSecret(24)}`;
    writePrivate(tokenFile(c, user), `${token}\n`);
    return token;
  }

  token(user: ApiUser): string {
    return this.sources[user].current().value;
  }

  /** `Authorization: Bearer <token>` → who it is (`{user: 'admin' | 'read-only', …}`); anything else → undefined. */
  authenticate(authorization: string | undefined): Identity | undefined {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m) return undefined;
    const presented = digest(m[1]!);
    let found: ApiUser | undefined;
    for (const user of API_USERS) {
      const cur = this.sources[user].current();
      // compare every token every time: the time taken says nothing about which one matched
      if (timingSafeEqual(presented, cur.hash) && cur.value && !found) found = user;
    }
    return found ? IDENTITY[found] : undefined;
  }
}
