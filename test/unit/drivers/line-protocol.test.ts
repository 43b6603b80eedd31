/** Line protocol pieces: templates, response patterns, line splitting. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isDriverProtocolError } from '../../../src/drivers/errors.js';
import { formatValue, LineSplitter, parseLine, patternProblem, renderTemplate } from '../../../src/drivers/serial/line-protocol.js';

test('templates substitute {value} and keep escaped braces', () => {
  assert.equal(renderTemplate('SET:TEMP {value}', '21.5'), 'SET:TEMP 21.5');
  assert.equal(renderTemplate('{{x}} {value}', '1'), '{x} 1');
  assert.equal(renderTemplate('MEAS?'), 'MEAS?');
  assert.throws(() => renderTemplate('SET {value}'), /no value/);
  assert.equal(formatValue(true), '1');
  assert.equal(formatValue(2.5), '2.5');
});

test('response patterns must compile and capture', () => {
  assert.equal(patternProblem('^T=([-0-9.]+)$'), undefined);
  assert.match(patternProblem('^T=[0-9]+$') ?? '', /capture group/);
  assert.match(patternProblem('^T=(') ?? '', /not a valid regular expression/);
});

test('parseLine converts the first capture to the value type', () => {
  assert.equal(parseLine('TEMP=-12.25 C', /^TEMP=([-0-9.]+)/, 'number'), -12.25);
  assert.equal(parseLine('ID=ACME-42', /^ID=(.*)$/, 'string'), 'ACME-42');
  assert.equal(parseLine('RELAY ON', /^RELAY (\w+)$/, 'boolean'), true);
  assert.equal(parseLine('RELAY off', /^RELAY (\w+)$/, 'boolean'), false);
  assert.throws(() => parseLine('ERR 5', /^TEMP=([-0-9.]+)/, 'number'), (e: unknown) => isDriverProtocolError(e) && /"ERR 5"/.test((e as Error).message));
  assert.throws(() => parseLine('TEMP=abc', /^TEMP=(\w+)/, 'number'), /not a number/);
  assert.throws(() => parseLine('RELAY maybe', /^RELAY (\w+)$/, 'boolean'), /not a boolean/);
});

test('LineSplitter joins fragments, splits several lines and drops a trailing CR', () => {
  const s = new LineSplitter('\n');
  assert.deepEqual(s.push('TE'), []);
  assert.deepEqual(s.push('MP=1\r\nTEMP=2\nTE'), ['TEMP=1', 'TEMP=2']);
  assert.deepEqual(s.push(Buffer.from('MP=3\n')), ['TEMP=3']);
  const custom = new LineSplitter(';');
  assert.deepEqual(custom.push('a;b;'), ['a', 'b']);
  const small = new LineSplitter('\n', 8);
  assert.throws(() => small.push('0123456789'), /no line delimiter/);
});
