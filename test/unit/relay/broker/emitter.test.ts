import { Aedes } from 'aedes';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BoundedBus, type BusMessage } from '../../../../src/relay/broker/emitter.js';

const msg = (topic: string, n: number): BusMessage => ({ topic, n });

test('a long queue of messages nobody subscribes to drains without growing the stack', async () => {
  // one slow message holds the only slot; 200,000 unmatched messages queue behind it. Each of
  // them completes synchronously — mqemitter's own bound nested one call per message here.
  const bus = new BoundedBus(1);
  bus.on('slow', (_m, done) => setImmediate(done));
  const done: number[] = [];
  bus.emit(msg('slow', -1), () => done.push(-1));
  const N = 200_000;
  for (let i = 0; i < N; i++) bus.emit(msg(`nobody/${i}`, i), () => done.push(i));
  assert.equal(bus.queued, N);
  await new Promise<void>((r) => setImmediate(r));
  await new Promise<void>((r) => setImmediate(r));
  assert.equal(done.length, N + 1);
  assert.deepEqual(done.slice(0, 3), [-1, 0, 1]);
  assert.equal(done[N], N - 1);
  assert.equal(bus.maxQueued, N);
});

test('never more than `limit` messages in flight; queued ones go out in emit order', async () => {
  const bus = new BoundedBus(3);
  let inFlight = 0;
  let most = 0;
  const seen: number[] = [];
  bus.on('t/+', (m, done) => {
    inFlight++;
    most = Math.max(most, inFlight);
    seen.push(m.n as number);
    setTimeout(() => {
      inFlight--;
      done();
    }, 1);
  });
  await new Promise<void>((r) => bus.on('other', () => undefined, r));
  const finished = Array.from({ length: 20 }, (_, i) => new Promise<void>((r) => bus.emit(msg(`t/${i}`, i), () => r())));
  assert.ok(bus.current <= 3);
  await Promise.all(finished);
  assert.equal(most, 3);
  assert.deepEqual(seen, Array.from({ length: 20 }, (_, i) => i));
  assert.equal(bus.current, 0);
});

test('a message emitted from a completion callback runs after that callback returned, not inside it', () => {
  const bus = new BoundedBus(1);
  const order: string[] = [];
  bus.emit(msg('a', 1), () => {
    order.push('a done');
    bus.emit(msg('c', 3), () => order.push('c done'));
    order.push('a callback returns');
  });
  bus.emit(msg('b', 2), () => order.push('b done'));
  assert.deepEqual(order, ['a done', 'a callback returns', 'c done', 'b done']);
});

test('after close, emit reports an error and delivers nothing', async () => {
  const bus = new BoundedBus(10);
  let got = 0;
  await new Promise<void>((r) => bus.on('x', (_m, d) => (got++, d()), r));
  await new Promise<void>((r) => bus.close(r));
  const err = await new Promise<Error | undefined>((r) => bus.emit(msg('x', 1), r));
  assert.match(String(err?.message), /closed/);
  assert.equal(got, 0);
  assert.throws(() => new BoundedBus(0), RangeError);
});

test('aedes on the bounded bus: 1,000 slow deliveries in flight and a burst of 100,000 publishes nobody subscribes to all complete', async () => {
  // the relay's shape: aedes with this bus as `mq`. With aedes' own mqemitter (concurrency 1000)
  // the same burst ends in 'RangeError: Maximum call stack size exceeded' (issue 19).
  const bus = new BoundedBus(1000);
  const aedes = await Aedes.createBroker({ mq: bus });
  try {
    await new Promise<void>((r) => aedes.subscribe('slow/#', (_p, cb) => setImmediate(cb), r));
    const N = 100_000;
    let completed = 0;
    const errors: unknown[] = [];
    const all = new Promise<void>((resolve) => {
      const cb = (err?: Error): void => {
        if (err) errors.push(err);
        if (++completed === N + 1000) resolve();
      };
      const pub = (topic: string): void => aedes.publish({ cmd: 'publish', topic, payload: Buffer.from('x'), qos: 0, retain: false, dup: false }, cb);
      for (let i = 0; i < 1000; i++) pub(`slow/${i}`);
      for (let i = 0; i < N; i++) pub(`edgecore/v1/nodes/n${i}/heartbeat`);
    });
    await all;
    assert.equal(completed, N + 1000);
    assert.deepEqual(errors, []);
    assert.ok(bus.maxQueued >= N, `the burst queued behind the slow deliveries (max ${bus.maxQueued})`);
    assert.deepEqual([bus.queued, bus.current], [0, 0]);
  } finally {
    await new Promise<void>((r) => aedes.close(() => r()));
  }
});
