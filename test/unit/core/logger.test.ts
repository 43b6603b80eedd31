import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../../src/core/logger.js';

test('json records carry level, namespaced module and fields; levels below the minimum are dropped', () => {
  const lines: string[] = [];
  const log = createLogger({ level: 'info', format: 'json', sink: { write: (l) => lines.push(l) }, now: () => new Date(0) });
  log.child('edged').info('pod started', { pod: 'default/web', err: new Error('x') });
  log.debug('hidden');
  assert.equal(lines.length, 1);
  assert.deepEqual(JSON.parse(lines[0]!), {
    time: '1970-01-01T00:00:00.000Z',
    level: 'info',
    logger: 'edgecore.edged',
    msg: 'pod started',
    pod: 'default/web',
    err: { message: 'x', name: 'Error' },
  });
});
