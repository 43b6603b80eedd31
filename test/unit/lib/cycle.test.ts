import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CycleClock, untilBoundary } from '../../../src/lib/cycle.js';
import { waitFor } from '../../helpers/wait.js';

test('the next boundary of a cycle on the clock', () => {
  assert.equal(untilBoundary(1000, 12_300), 700);
  assert.equal(untilBoundary(1000, 12_999), 1);
  assert.equal(untilBoundary(1000, 13_000), 1000, 'on a boundary: the next one');
  assert.equal(untilBoundary(5000, 12_300), 2700);
  assert.equal(untilBoundary(0, 12_300), 0);
});

test('a CycleClock runs everything on one cycle in the same turn, in order, past a callback that throws; cancelled callbacks stop, and an empty cycle holds no timer', async () => {
  const clock = new CycleClock();
  const seen: string[] = [];
  let turns = 0;
  const offA = clock.every(5, () => seen.push(`a${turns}`));
  const offThrow = clock.every(5, () => {
    throw new Error('not the others’ problem');
  });
  const offB = clock.every(5, () => {
    seen.push(`b${turns}`);
    turns++;
  });
  const offC = clock.every(7, () => seen.push('c'));
  assert.equal(clock.size, 2);
  await waitFor('two turns', () => turns >= 2);
  offA();
  const after = turns;
  await waitFor('two more turns', () => turns >= after + 2);
  offB();
  offC();
  // a's and b's entries alternate while both ran: they shared each wake-up
  const ab = seen.filter((s) => s !== 'c');
  for (let i = 0; i < after; i++) assert.deepEqual(ab.slice(2 * i, 2 * i + 2), [`a${i}`, `b${i}`]);
  assert.ok(!ab.slice(2 * after).some((s) => s.startsWith('a')), 'a stopped once cancelled');
  assert.equal(clock.size, 1, 'the 5 ms cycle still has the throwing callback');
  offThrow();
  assert.equal(clock.size, 0);
});
