/**
 * A `Warning` header repeats what a client sent (an unknown field's name): it must stay a valid
 * header value whatever that was — found by the HTTP fuzzer (test/integration/relay/fuzz-http.test.ts),
 * where an unknown field named with invalid UTF-8 turned a create into a 500.
 */
import assert from 'node:assert/strict';
import { validateHeaderValue } from 'node:http';
import { test } from 'node:test';
import { warningHeader } from '../../../../src/relay/apiserver/http/io.js';

test('warning headers are valid header values whatever the warning repeats', () => {
  const warnings = ['unknown field "kind\ufffd"', 'unknown field "a\u0000b"', 'line\r\nbreak', 'é\u202e\ud83d\ude00', 'quote " and \\ backslash'];
  const values = warningHeader(warnings);
  for (const v of values) assert.doesNotThrow(() => validateHeaderValue('warning', v), v);
  assert.deepEqual(values, ['299 - "unknown field \\"kind?\\""', '299 - "unknown field \\"a?b\\""', '299 - "line  break"', '299 - "????"', '299 - "quote \\" and \\\\ backslash"']);
});
