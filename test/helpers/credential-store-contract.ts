/**
 * The CredentialStore contract, one suite for both implementations: SQLite
 * (test/unit/relay/store/credentials-sqlite.test.ts) and PostgreSQL
 * (test/integration/relay/store/credentials-postgres.test.ts). `backing(t)` gives a fresh place
 * to open stores on; two stores opened on one backing are two replicas (or a relay and the CLI).
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { CredentialStore } from '../../src/relay/store/credentials.js';

export interface CredentialBacking {
  open(): Promise<CredentialStore>;
}

const T0 = new Date('2030-01-01T00:00:00Z');
const later = (s: number): Date => new Date(T0.getTime() + s * 1000);

/** `skip`: why this implementation's service is missing (the tests then say so and pass over). */
export function credentialStoreContract(label: string, backing: (t: TestContext) => Promise<CredentialBacking>, skip?: string): void {
  test(`${label}: tokens are valid until they expire, and only what was stored`, { skip }, async (t) => {
    const s = await (await backing(t)).open();
    await s.createToken('h1', later(60), T0);
    assert.equal(await s.checkToken('h1', T0), true);
    assert.equal(await s.checkToken('h1', later(30)), true, 'reusable until it expires');
    assert.equal(await s.checkToken('h1', later(60)), false, 'expired');
    assert.equal(await s.checkToken('nope', T0), false);
    // creating a token drops the expired ones
    await s.createToken('h2', later(600), later(120));
    assert.equal(await s.checkToken('h1', T0), false);
  });

  test(`${label}: nodes: upsert (a re-join rotates the hash, keeps joinedAt), get, list by name, delete`, { skip }, async (t) => {
    const s = await (await backing(t)).open();
    assert.equal(await s.getNode('n1'), undefined);
    const n = await s.upsertNode('n1', 'H1', { zone: 'a' }, T0);
    assert.deepEqual(n, { name: 'n1', passwordHash: 'H1', labels: { zone: 'a' }, joinedAt: T0.toISOString() });
    await s.upsertNode('a0', 'H0', {}, T0);
    const again = await s.upsertNode('n1', 'H2', { zone: 'b' }, later(10));
    assert.deepEqual(again, { name: 'n1', passwordHash: 'H2', labels: { zone: 'b' }, joinedAt: T0.toISOString() });
    assert.deepEqual((await s.listNodes()).map((x) => x.name), ['a0', 'n1']);
    assert.equal(await s.setNodePassword('n1', 'LOCKED'), true);
    assert.equal((await s.getNode('n1'))?.passwordHash, 'LOCKED');
    assert.equal(await s.setNodePassword('ghost', 'x'), false);
    assert.equal(await s.deleteNode('n1'), true);
    assert.equal(await s.deleteNode('n1'), false);
    assert.equal(await s.getNode('n1'), undefined);
  });

  test(`${label}: a node's password check: stored by a join, replaced by a re-join, dropped by a new hash, set only against the hash it was made for`, { skip }, async (t) => {
    const s = await (await backing(t)).open();
    assert.equal((await s.upsertNode('n1', 'H1', {}, T0, 'C1')).passwordCheck, 'C1');
    assert.equal((await s.getNode('n1'))?.passwordCheck, 'C1');
    assert.equal((await s.listNodes())[0]?.passwordCheck, 'C1');
    assert.equal((await s.upsertNode('n1', 'H2', {}, T0, 'C2')).passwordCheck, 'C2');
    // a re-join without a check (a relay of an older version) leaves none behind
    assert.equal((await s.upsertNode('n1', 'H3', {}, T0)).passwordCheck, undefined);
    await s.upsertNode('n1', 'H4', {}, T0, 'C4');
    assert.equal(await s.setNodePassword('n1', 'LOCKED'), true);
    assert.equal((await s.getNode('n1'))?.passwordCheck, undefined, 'rotation drops the check');
    // set after a PBKDF2 check: only while the hash is still the one it was checked against
    const r = await s.credentialsRevision();
    await s.setPasswordCheck('n1', 'H4', 'stale');
    assert.equal((await s.getNode('n1'))?.passwordCheck, undefined, 'the hash changed meanwhile');
    await s.setPasswordCheck('n1', 'LOCKED', 'CL');
    assert.equal((await s.getNode('n1'))?.passwordCheck, 'CL');
    assert.equal(await s.credentialsRevision(), r, 'a check is no credential change');
    await s.setPasswordCheck('ghost', 'H', 'C');
    assert.equal(await s.getNode('ghost'), undefined);
  });

  test(`${label}: re-join permissions are one-shot, expire, and go with the node`, { skip }, async (t) => {
    const s = await (await backing(t)).open();
    await s.upsertNode('n1', 'H', {}, T0);
    assert.equal(await s.takeRejoin('n1', T0), false);
    await s.allowRejoin('n1', later(60));
    assert.equal(await s.takeRejoin('n1', later(61)), false, 'expired (and consumed)');
    await s.allowRejoin('n1', later(60));
    assert.equal(await s.takeRejoin('n1', T0), true);
    assert.equal(await s.takeRejoin('n1', T0), false, 'used up');
    await s.allowRejoin('n1', later(60));
    await s.deleteNode('n1');
    await s.upsertNode('n1', 'H', {}, T0);
    assert.equal(await s.takeRejoin('n1', T0), false, 'a deleted node drops its permission');
  });

  test(`${label}: the revision grows with every credential change and every bump, never otherwise`, { skip }, async (t) => {
    const s = await (await backing(t)).open();
    let r = await s.credentialsRevision();
    const grew = async (what: string): Promise<void> => {
      const next = await s.credentialsRevision();
      assert.ok(next > r, `${what}: ${next} > ${r}`);
      r = next;
    };
    await s.upsertNode('n1', 'H', {}, T0);
    await grew('join');
    await s.setNodePassword('n1', 'H2');
    await grew('password');
    assert.equal(await s.bumpCredentialsRevision(), r + 1);
    await grew('bump');
    await s.createToken('t', later(60), T0);
    await s.allowRejoin('n1', later(60));
    assert.equal(await s.credentialsRevision(), r, 'tokens and permissions are not credentials');
    await s.deleteNode('n1');
    await grew('delete');
  });

  test(`${label}: two stores on one backing (two replicas) see one another's writes; one of two takers gets a permission`, { skip }, async (t) => {
    const b = await backing(t);
    const [one, two] = [await b.open(), await b.open()];
    await one.createToken('tok', later(60), T0);
    assert.equal(await two.checkToken('tok', T0), true);
    await one.upsertNode('n1', 'H', { a: 'b' }, T0);
    assert.equal((await two.getNode('n1'))?.passwordHash, 'H');
    const r = await two.credentialsRevision();
    await one.setNodePassword('n1', 'H2');
    assert.ok((await two.credentialsRevision()) > r);
    await two.allowRejoin('n1', later(60));
    const taken = await Promise.all([one.takeRejoin('n1', T0), two.takeRejoin('n1', T0), one.takeRejoin('n1', T0)]);
    assert.deepEqual(taken.filter(Boolean).length, 1);
  });
}
