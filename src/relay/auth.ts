/**
 * Secrets of the relay: bootstrap tokens (stored as SHA-256), node passwords (stored as
 * PBKDF2-SHA512 in mosquitto's `$7$iterations$salt$hash` form, so the same hash serves the
 * embedded broker and a mosquitto password file), and constant-time comparisons.
 */
import { createHash, pbkdf2, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export const PASSWORD_ITERATIONS = 1000;

export function newSecret(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** mosquitto 2.x `$7$` hash (PBKDF2-HMAC-SHA512, 12-byte salt, 64-byte key). */
export function hashPassword(password: string, iterations = PASSWORD_ITERATIONS, salt = randomBytes(12)): string {
  const key = pbkdf2Sync(password, salt, iterations, 64, 'sha512');
  return `$7$${iterations}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/**
 * Check a password against a `$7$` hash. Asynchronous: PBKDF2 runs on libuv's thread pool, so a
 * reconnect storm after a relay start (every node's first check) does not hold the event loop.
 */
export function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const m = /^\$7\$(\d+)\$([^$]+)\$([^$]+)$/.exec(encoded);
  if (!m) return Promise.resolve(false);
  const want = Buffer.from(m[3]!, 'base64');
  return new Promise((resolve, reject) =>
    pbkdf2(password, Buffer.from(m[2]!, 'base64'), Number(m[1]), want.length, 'sha512', (err, got) => {
      if (err) return reject(err);
      resolve(got.length === want.length && timingSafeEqual(got, want));
    }),
  );
}

/**
 * The fast check of a node password stored beside its `$7$` hash: SHA-256 over the hash (its
 * random salt included) and the password. Node passwords are 24 random bytes (192 bits), so a
 * slow hash adds nothing against guessing them, as for bootstrap tokens; PBKDF2 stays for the
 * hash mosquitto's password file needs. Bound to the hash: a hash replaced without its check (a
 * relay of an older version rotating it) makes the stored check match no password, and the
 * caller falls back to the hash.
 */
export function passwordCheck(password: string, passwordHash: string): string {
  return createHash('sha256').update(passwordHash).update('\n').update(password).digest('hex');
}

/** A mosquitto `$7$` hash no password matches: a rotated node is locked out until it re-joins. */
export const LOCKED_PASSWORD_HASH = '!locked';

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
