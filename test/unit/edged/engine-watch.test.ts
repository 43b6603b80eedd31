/** The engine watch on a fake clock: away once, pinged until it answers, back at once when its socket reappears. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { EngineWatch } from '../../../src/modules/edged/engine-watch.js';
import { FakeTimers, settle } from './fake-timers.js';

function setup(socketPath = '') {
  const timers = new FakeTimers();
  const events: string[] = [];
  let answers = false;
  let pings = 0;
  const w = new EngineWatch({
    ping: async () => {
      pings++;
      if (!answers) throw new Error('connect ENOENT');
    },
    socketPath,
    intervalMs: 500,
    onAway: (r) => events.push(`away: ${r}`),
    onBack: () => events.push('back'),
    timers,
  });
  return { w, timers, events, answer: () => (answers = true), pings: () => pings };
}

test('lost once: one away event, pings every interval until the engine answers, then back', async () => {
  const s = setup();
  assert.equal(s.w.lost('events stream ended'), true);
  assert.equal(s.w.lost('pass failed'), false, 'already away');
  assert.equal(s.w.isUp, false);
  let up = false;
  void s.w.whenUp().then(() => (up = true));
  await s.timers.advance(1600);
  assert.equal(s.pings(), 3);
  assert.deepEqual(s.events, ['away: events stream ended']);
  s.answer();
  await s.timers.advance(500);
  await settle();
  assert.deepEqual(s.events, ['away: events stream ended', 'back']);
  assert.equal(up, true);
  assert.equal(s.w.isUp, true);
  await s.timers.advance(5000);
  assert.equal(s.pings(), 4, 'no pings while it answers');
});

test('the socket reappearing is checked at once, before the next ping is due', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'edged-watch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sock = join(dir, 'docker.sock');
  const s = setup(sock);
  s.w.lost('gone');
  s.answer();
  writeFileSync(sock, '');
  for (let i = 0; i < 200 && s.events.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(s.events, ['away: gone', 'back']);
  assert.equal(s.timers.now(), 0, 'no fake time passed: the file watch did it');
  s.w.stop();
});
