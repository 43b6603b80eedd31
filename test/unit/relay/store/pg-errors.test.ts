/** Which PostgreSQL client errors mean the server was away (retry) and which are a verdict. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StoreUnavailableError } from '../../../../src/relay/store/objects.js';
import { pgError, pgUnavailable } from '../../../../src/relay/store/pg-errors.js';

const withCode = (message: string, code: string): Error => Object.assign(new Error(message), { code });

test('a cut connection, a refused socket and a server shutting down are the store being away', () => {
  assert.ok(pgUnavailable(new Error('Connection terminated unexpectedly')));
  assert.ok(pgUnavailable(withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')));
  assert.ok(pgUnavailable(withCode('terminating connection due to administrator command', '57P01')));
  assert.ok(pgUnavailable(withCode('terminating connection due to idle-in-transaction timeout', '25P03')), 'a session the server ended idle inside its transaction: tried again');
  assert.ok(pgUnavailable(withCode('the database system is starting up', '57P03')));
  assert.ok(pgUnavailable(withCode('connection failure', '08006')));
  assert.ok(pgUnavailable(new AggregateError([withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')])));
  const e = pgError(new Error('Connection terminated'));
  assert.ok(e instanceof StoreUnavailableError && e.message.includes('Connection terminated'));
});

test('a verdict of the server or an error of our own code is not', () => {
  assert.equal(pgUnavailable(withCode('duplicate key value violates unique constraint', '23505')), false);
  assert.equal(pgUnavailable(withCode('syntax error at or near "x"', '42601')), false);
  assert.equal(pgUnavailable(new RangeError('Maximum call stack size exceeded')), false);
  assert.equal(pgUnavailable('Connection terminated'), false);
  const e = new TypeError('x');
  assert.equal(pgError(e), e);
});
