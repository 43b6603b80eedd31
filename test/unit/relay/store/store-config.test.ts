import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../../../src/core/errors.js';
import { parseRelayConfig } from '../../../../src/relay/config.js';

const refusal = (v: unknown): string => {
  try {
    parseRelayConfig(v, 'relay.yaml');
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.message;
  }
  assert.fail('accepted');
};

test('store: sqlite by default; postgres with a URL naming host and database', () => {
  assert.deepEqual(parseRelayConfig({}).store, { kind: 'sqlite', url: '', poolSize: 8 });
  const c = parseRelayConfig({ store: { kind: 'postgres', url: 'postgres://relay:pw@db.example:5432/edgerelay?sslmode=require', poolSize: 4 } });
  assert.equal(c.store.kind, 'postgres');
  assert.equal(c.store.poolSize, 4);
});

test('store: a wrong store config is refused naming the file and the field', () => {
  assert.match(refusal({ store: { kind: 'postgres' } }), /relay\.yaml[\s\S]*store\.url[\s\S]*required with store\.kind: postgres/);
  assert.match(refusal({ store: { kind: 'postgres', url: 'mysql://h/db' } }), /store\.url[\s\S]*scheme mysql: is not postgres/);
  assert.match(refusal({ store: { kind: 'postgres', url: 'not a url' } }), /store\.url[\s\S]*not a URL/);
  assert.match(refusal({ store: { kind: 'postgres', url: 'postgres://u:p@host:5432' } }), /store\.url[\s\S]*names no database/);
  assert.match(refusal({ store: { url: 'postgres://u:p@host/db' } }), /store\.url[\s\S]*applies to store\.kind: postgres only/);
  assert.match(refusal({ store: { kind: 'etcd' } }), /store\.kind/);
  assert.match(refusal({ store: { kind: 'postgres', url: 'postgres://h/db', poolSize: 0 } }), /store\.poolSize/);
  assert.match(refusal({ store: { kind: 'postgres', url: 'postgres://h/db', extra: 1 } }), /store/);
});
