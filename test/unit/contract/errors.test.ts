/** The one closed set of wire error codes and its one mapping (HTTP, mapper results, typed errors). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeWireError, ERROR_CODES, httpStatusOf, mapperCodeOf, WireError, wireErrorOf, wireErrorSchema } from '../../../src/contract/errors.js';
import { ConflictError, NoRouteError, NotFoundError, TimeoutError, ValidationError } from '../../../src/core/errors.js';

test('typed errors map to one code each; anything else is the caller\'s fallback', () => {
  const invalid = new ValidationError([{ path: 'spec.x', reason: 'bad' }], 'thing');
  assert.deepEqual(wireErrorOf(invalid, 'Failed'), { code: 'Invalid', message: invalid.message, issues: [{ path: 'spec.x', reason: 'bad' }] });
  assert.equal(wireErrorOf(new NotFoundError('pod a'), 'Failed').code, 'NotFound');
  assert.equal(wireErrorOf(new ConflictError('stale'), 'Failed').code, 'Conflict');
  assert.deepEqual(wireErrorOf(new NoRouteError('edged'), 'Failed'), { code: 'NotImplemented', message: 'no running module handles messages for edged (module disabled on this node?)' });
  assert.equal(wireErrorOf(new TimeoutError('request', 5), 'Failed').code, 'Timeout');
  assert.deepEqual(wireErrorOf(new WireError('TooLarge', 'big'), 'Internal'), { code: 'TooLarge', message: 'big' });
  assert.deepEqual(wireErrorOf(new Error('boom'), 'Failed'), { code: 'Failed', message: 'boom' });
  assert.deepEqual(wireErrorOf('boom', 'Internal'), { code: 'Internal', message: 'boom' });
});

test('every code has an HTTP status and a mapper code', () => {
  const table = Object.fromEntries(ERROR_CODES.map((c) => [c, [httpStatusOf(c), mapperCodeOf(c)]]));
  assert.deepEqual(table, {
    Invalid: [422, 400],
    BadJson: [400, 400],
    TooLarge: [413, 400],
    Unauthorized: [401, 500],
    Forbidden: [403, 500],
    NotFound: [404, 404],
    Conflict: [409, 409],
    NotImplemented: [501, 500],
    Timeout: [504, 500],
    Unavailable: [502, 500],
    Failed: [502, 500],
    Internal: [500, 500],
  });
});

test('an error body off the wire keeps the set closed; people see each issue once', () => {
  assert.equal(wireErrorSchema.parse({ code: 'Teapot', message: 'x' }).code, 'Failed');
  assert.equal(describeWireError({ message: 'thing is invalid: a: bad', issues: [{ path: 'a', reason: 'bad' }, { path: 'b', reason: 'worse' }] }), 'thing is invalid: a: bad\n  b: worse');
});
