import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SingleFlight } from '../../../src/lib/single-flight.js';

test('callers during an attempt share it; the next call after it settled starts a new one, even after a failure', async () => {
  const f = new SingleFlight();
  let runs = 0;
  let release!: () => void;
  const job = () =>
    new Promise<void>((r) => {
      runs++;
      release = r;
    });
  const a = f.run(job);
  const b = f.run(job);
  assert.equal(a, b);
  assert.equal(runs, 1);
  release();
  await a;
  await assert.rejects(f.run(async () => Promise.reject(new Error('port busy'))), /port busy/);
  const c = f.run(job);
  assert.equal(runs, 2);
  release();
  await c;
});
