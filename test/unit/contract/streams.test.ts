import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeFrame,
  encodeFrame,
  FrameType,
  HEADER_BYTES,
  LIMITS,
  ReceiveWindow,
  SendCredit,
  type Frame,
  type OpenRequest,
} from '../../../src/contract/streams.js';

const sid = 'a'.repeat(32);
const open: OpenRequest = { kind: 'exec', pod: { namespace: 'default', name: 'p' }, command: ['ls', '-l'], stdin: true, stdout: true, stderr: true, tty: false, window: 65536, keepaliveMs: 15000 };

test('every frame type survives encode → decode in its direction', () => {
  const down: Frame[] = [
    { type: FrameType.Open, sid, seq: 0, open },
    { type: FrameType.Data, sid, seq: 1, channel: 0, data: Buffer.from('hi') },
    { type: FrameType.Credit, sid, seq: 2, bytes: 4096 },
    { type: FrameType.Eof, sid, seq: 3, channel: 0 },
    { type: FrameType.Resize, sid, seq: 4, width: 120, height: 40 },
    { type: FrameType.Reset, sid, seq: 5, reset: { code: 'Unavailable', message: 'bye' } },
    { type: FrameType.Ping, sid, seq: 6 },
  ];
  const up: Frame[] = [
    { type: FrameType.Ready, sid, seq: 0, ready: { window: 1024, stdin: true, tty: false, container: 'c' } },
    { type: FrameType.Data, sid, seq: 1, channel: 2, data: Buffer.from([0, 255, 7]) },
    { type: FrameType.Exit, sid, seq: 2, exit: { exitCode: 3 } },
    { type: FrameType.Exit, sid, seq: 3, exit: { error: { code: 'NotFound', message: 'no pod' } } },
  ];
  for (const f of down) assert.deepEqual(decodeFrame(encodeFrame(f), 'down'), { ok: true, frame: f });
  for (const f of up) assert.deepEqual(decodeFrame(encodeFrame(f), 'up'), { ok: true, frame: f });
  // a code outside the closed set (a newer or lying node) reads as Failed
  const odd = encodeFrame({ type: FrameType.Exit, sid, seq: 0, exit: { error: { code: 'Failed', message: 'm' } } });
  const text = odd.subarray(HEADER_BYTES).toString().replace('"Failed"', '"Root"');
  const r = decodeFrame(Buffer.concat([odd.subarray(0, HEADER_BYTES), Buffer.from(text)]), 'up');
  assert.ok(r.ok && r.frame.type === FrameType.Exit && r.frame.exit.error?.code === 'Failed');
});

test('frames travelling the wrong way, or malformed, are refused with a reason', () => {
  const refused = (buf: Buffer, dir: 'up' | 'down', re: RegExp): void => {
    const r = decodeFrame(buf, dir);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.reason, re);
  };
  // a node never opens a session, never sends stdin, never resizes
  refused(encodeFrame({ type: FrameType.Open, sid, seq: 0, open }), 'up', /may not travel up/);
  refused(encodeFrame({ type: FrameType.Resize, sid, seq: 0, width: 1, height: 1 }), 'up', /may not travel up/);
  refused(encodeFrame({ type: FrameType.Data, sid, seq: 0, channel: 0, data: Buffer.from('x') }), 'up', /channel 0 may not travel up/);
  refused(encodeFrame({ type: FrameType.Data, sid, seq: 0, channel: 1, data: Buffer.from('x') }), 'down', /channel 1 may not travel down/);
  refused(encodeFrame({ type: FrameType.Exit, sid, seq: 0, exit: {} }), 'down', /may not travel down/);
  refused(Buffer.alloc(5), 'down', /shorter than its header/);
  const v2 = encodeFrame({ type: FrameType.Ping, sid, seq: 0 });
  v2[0] = 2;
  refused(v2, 'down', /unknown stream version/);
  const credit0 = encodeFrame({ type: FrameType.Credit, sid, seq: 0, bytes: 1 });
  credit0.writeUInt32BE(0, HEADER_BYTES);
  refused(credit0, 'up', /credit of 0/);
  const bigData = Buffer.concat([encodeFrame({ type: FrameType.Data, sid, seq: 0, channel: 1, data: Buffer.alloc(1) }), Buffer.alloc(LIMITS.maxData)]);
  refused(bigData, 'up', /data frame of/);
  // an open with a field the contract does not know, or a bad kind
  const bad = Buffer.concat([encodeFrame({ type: FrameType.Ping, sid, seq: 0 }).subarray(0, HEADER_BYTES), Buffer.from(JSON.stringify({ ...open, kind: 'shell', extra: 1 }))]);
  bad[1] = FrameType.Open;
  refused(bad, 'down', /open: kind: .*extra|open: .*kind/s);
  const notJson = Buffer.concat([encodeFrame({ type: FrameType.Ping, sid, seq: 0 }), Buffer.from('{')]);
  notJson[1] = FrameType.Exit;
  refused(notJson, 'up', /JSON/);
  assert.throws(() => encodeFrame({ type: FrameType.Data, sid, seq: 0, channel: 1, data: Buffer.alloc(LIMITS.maxData + 1) }), RangeError);
  assert.throws(() => encodeFrame({ type: FrameType.Ping, sid: 'zz', seq: 0 }), RangeError);
});

test('send credit is spent and granted, never beyond the largest window', () => {
  const c = new SendCredit(100);
  assert.equal(c.take(60), 60);
  assert.equal(c.take(60), 40);
  assert.equal(c.take(1), 0);
  assert.ok(c.grant(50));
  assert.equal(c.available, 50);
  assert.equal(c.grant(LIMITS.maxWindow), false, 'a peer granting past the largest window is refused');
});

test('a receive window refuses overruns and grants credit after half of it was consumed', () => {
  const w = new ReceiveWindow(100);
  assert.ok(w.receive(60));
  assert.ok(w.receive(40));
  assert.equal(w.receive(1), false, 'the 101st byte overruns the window');
  assert.equal(w.consume(30), 0, 'below half: keep counting');
  assert.equal(w.buffered, 70);
  assert.equal(w.consume(30), 60, 'half consumed: grant all consumed bytes');
  assert.ok(w.receive(60));
  assert.equal(w.receive(1), false);
});
