import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OneAtATime } from '../../../src/lib/one-at-a-time.js';

test('jobs run one at a time in call order; a failed job does not stop the next', async () => {
  const q = new OneAtATime();
  const log: string[] = [];
  let running = 0;
  const job = (name: string, fail = false) => async () => {
    running++;
    assert.equal(running, 1, 'never two at once');
    log.push(`start ${name}`);
    await new Promise((r) => setImmediate(r));
    log.push(`end ${name}`);
    running--;
    if (fail) throw new Error(name);
    return name;
  };
  const results = await Promise.allSettled([q.run(job('a')), q.run(job('b', true)), q.run(job('c'))]);
  assert.deepEqual(log, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
});
