/**
 * HalfDuplexLine over an in-memory ByteTransport (a fake wire: the far end is a script in the
 * test), for what a pty cannot stage precisely: exactly when a late answer arrives.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeviceUnavailableError, isDeviceUnavailable, isDriverTimeout } from '../../../src/drivers/errors.js';
import { HalfDuplexLine } from '../../../src/drivers/serial/half-duplex.js';
import type { ByteTransport } from '../../../src/drivers/serial/transport.js';

class FakeWire implements ByteTransport {
  readonly name = 'fake-wire';
  isOpen = true;
  readonly written: string[] = [];
  private readonly data = new Set<(c: Buffer) => void>();
  private readonly closed = new Set<(e: Error) => void>();
  /** the far end: called with each request */
  onRequest: (req: string) => void = () => undefined;
  async open(): Promise<void> {}
  async write(d: Uint8Array): Promise<void> {
    const s = Buffer.from(d).toString('latin1');
    this.written.push(s);
    queueMicrotask(() => this.onRequest(s));
  }
  send(s: string): void {
    for (const cb of [...this.data]) cb(Buffer.from(s, 'latin1'));
  }
  onData(cb: (c: Buffer) => void): () => void {
    this.data.add(cb);
    return () => this.data.delete(cb);
  }
  onClose(cb: (e: Error) => void): () => void {
    this.closed.add(cb);
    return () => this.closed.delete(cb);
  }
  async close(): Promise<void> {}
}

const firstLine = () => {
  let buf = '';
  return (c: Buffer): string | undefined => {
    buf += c.toString('latin1');
    const i = buf.indexOf('\n');
    return i < 0 ? undefined : buf.slice(0, i);
  };
};
const ask = (line: HalfDuplexLine, req: string, timeoutMs = 40) => line.exchange({ request: Buffer.from(req), answer: firstLine(), timeoutMs, what: `ask ${req}` });

test('a late answer to a timed-out request is dropped, not taken for the next request', async () => {
  const wire = new FakeWire();
  const line = new HalfDuplexLine(() => wire, () => 200);
  // the instrument answers in order: A's answer comes late, 20 ms after the master gave up on
  // it, or at the latest right before the answer to whatever is asked next
  let lateA = false;
  const sendLateA = (): void => {
    if (lateA) wire.send('answer to A\n');
    lateA = false;
  };
  wire.onRequest = (req) => {
    if (req === 'A?') return void (lateA = true);
    sendLateA();
    wire.send(`answer to ${req.slice(0, -1)}\n`);
  };
  await assert.rejects(ask(line, 'A?'), (e) => isDriverTimeout(e) && /ask A\? on fake-wire: no answer within 40 ms/.test((e as Error).message));
  const late = setTimeout(sendLateA, 20);
  try {
    assert.equal(await ask(line, 'B?'), 'answer to B');
  } finally {
    clearTimeout(late);
  }
  assert.equal(line.dropped, 'answer to A\n'.length);
  assert.deepEqual(wire.written, ['A?', 'B?']);
});

test('without a failure the next request goes out at once; a line that never quiets is waited for a bounded time', { timeout: 5_000 }, async () => {
  const wire = new FakeWire();
  const line = new HalfDuplexLine(() => wire, () => 30);
  wire.onRequest = (req) => wire.send(`ok ${req}\n`);
  assert.equal(await ask(line, 'one'), 'ok one');
  assert.equal(await ask(line, 'two'), 'ok two');
  assert.equal(line.dropped, 0);
  // a garbled answer unsettles the line too; then noise every 10 ms never lets it quiet
  await assert.rejects(line.exchange({ request: Buffer.from('bad'), answer: () => { throw new Error('garbled'); }, timeoutMs: 40, what: 'bad' }), /garbled/);
  // (an unbounded wait would hold the request back forever: the test's timeout fails it)
  const noise = setInterval(() => wire.send('~'), 10);
  try {
    assert.equal(await ask(line, 'three'), 'ok three');
    assert.ok(line.dropped > 0, 'the noise was dropped, not taken for an answer');
  } finally {
    clearInterval(noise);
  }
});

test('a port that is gone fails the exchange at once and does not hold back the next one', { timeout: 5_000 }, async () => {
  let gone = true;
  const wire = new FakeWire();
  const line = new HalfDuplexLine(() => {
    if (gone) throw new DeviceUnavailableError('fake-wire is not connected');
    return wire;
  }, () => 10_000);
  await assert.rejects(ask(line, 'A?'), (e) => isDeviceUnavailable(e) && !isDriverTimeout(e));
  gone = false;
  wire.onRequest = () => wire.send('fine\n');
  // a settle of 10 s would time this test out: none happens
  assert.equal(await ask(line, 'B?'), 'fine');
  // no answer expected: done once written
  assert.equal(await line.exchange({ request: Buffer.from('fire'), timeoutMs: 40, what: 'fire' }), undefined);
  assert.deepEqual(wire.written, ['B?', 'fire']);
});
