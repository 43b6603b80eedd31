import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../../../src/core/logger.js';
import { ReadinessLog } from '../../../../src/relay/controllers/readiness-log.js';

function setup(level: 'info' | 'debug' = 'info') {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level, format: 'json', sink: { write: (l: string) => lines.push(JSON.parse(l)) } }, 'relay');
  const windows: (() => void)[] = [];
  let cancelled = 0;
  const r = new ReadinessLog(log, { perNode: 3, windowMs: 5000, schedule: (fn) => (windows.push(fn), { cancel: () => void cancelled++ }) });
  return { r, lines, windows, cancelled: () => cancelled };
}

test('a few changes are logged node by node, as they happen', () => {
  const { r, lines, windows } = setup();
  r.change('pi-1', 'Unknown', 'NodeStatusUnknown');
  r.change('pi-1', 'True', 'KubeletReady');
  assert.deepEqual(
    lines.map((l) => [l.level, l.msg, l.node, l.ready]),
    [
      ['info', 'node readiness', 'pi-1', 'Unknown'],
      ['info', 'node readiness', 'pi-1', 'True'],
    ],
  );
  assert.equal(windows.length, 1, 'one window for both');
  windows[0]!();
  assert.equal(lines.length, 2, 'nothing counted: nothing more to say');
});

test('a storm is logged one by one up to the limit, then counted in one line per window', () => {
  const { r, lines, windows } = setup();
  for (let i = 0; i < 10; i++) r.change(`pi-${i}`, i % 2 ? 'True' : 'Unknown', 'x');
  assert.equal(lines.length, 3, 'three one by one, the rest held');
  windows[0]!();
  const sum = lines[3]!;
  assert.equal(sum.msg, 'node readiness: more nodes changed than are logged one by one');
  assert.equal(sum.nodes, 7);
  assert.deepEqual(sum.ready, { True: 4, Unknown: 3 });
  assert.deepEqual(sum.examples, ['pi-3', 'pi-4', 'pi-5', 'pi-6', 'pi-7']);
  // the next window starts afresh: one by one again
  r.change('pi-0', 'True', 'KubeletReady');
  assert.equal(lines.length, 5);
  assert.equal(lines[4]!.node, 'pi-0');
  assert.equal(windows.length, 2);
});

test('stopping says what was counted; every change is at debug level', () => {
  const { r, lines, cancelled } = setup('debug');
  for (let i = 0; i < 5; i++) r.change(`pi-${i}`, 'Unknown', 'x');
  r.flush();
  assert.equal(cancelled(), 1, 'the window timer is cancelled');
  assert.equal(lines.filter((l) => l.level === 'debug').length, 5);
  assert.equal(lines.filter((l) => l.level === 'info' && l.msg === 'node readiness').length, 3);
  assert.equal(lines.at(-1)!.nodes, 2);
});
