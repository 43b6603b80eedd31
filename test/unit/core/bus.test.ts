import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Bus } from '../../../src/core/bus.js';
import { isNoRouteError, isTimeoutError, ValidationError } from '../../../src/core/errors.js';

type Msg = { type: 'ping'; n: number } | { type: 'note'; text: string } | { type: 'slow' } | { type: 'bad' };
interface Replies {
  ping: number;
  slow: void;
  bad: void;
}

/** Let every handler already queued on the bus run (they run on setImmediate, in order). */
async function drain(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
}

function setup() {
  const bus = new Bus<Msg, Replies>(1000);
  const errors: { module: string; err: unknown }[] = [];
  const attach = (name: string, group: string) => bus.attach(name, group, (err) => errors.push({ module: name, err }));
  return { bus, attach, errors };
}

test('send delivers to one module, asynchronously', async () => {
  const { attach } = setup();
  const a = attach('a', 'g');
  const b = attach('b', 'g');
  const got: Msg[] = [];
  b.serve((m) => {
    got.push(m);
  });
  a.send('b', { type: 'note', text: 'hi' });
  assert.equal(got.length, 0, 'handler must not run inside the sender call');
  await drain();
  assert.deepEqual(got, [{ type: 'note', text: 'hi' }]);
});

test('send to an unknown module throws NoRouteError', () => {
  const { attach } = setup();
  const a = attach('a', 'g');
  assert.throws(() => a.send('nobody', { type: 'note', text: 'x' }), isNoRouteError);
});

test('sendToGroup reaches every member of the group and nobody else', async () => {
  const { attach } = setup();
  const seen: string[] = [];
  for (const [n, g] of [
    ['x1', 'twin'],
    ['x2', 'twin'],
    ['y', 'other'],
  ] as const) {
    attach(n, g).serve(() => {
      seen.push(n);
    });
  }
  const s = attach('sender', 'meta');
  assert.equal(s.sendToGroup('twin', { type: 'note', text: 'all' }), 2);
  await drain();
  assert.deepEqual(seen.sort(), ['x1', 'x2']);
});

test('request gets the reply; a handler that hangs times out', async () => {
  const { bus, attach } = setup();
  const srv = attach('srv', 'g');
  srv.serve((m) => {
    if (m.type === 'ping') return m.n + 1;
    if (m.type === 'slow') return new Promise(() => undefined);
    return undefined;
  });
  const cli = attach('cli', 'g');
  assert.equal(await cli.request('srv', { type: 'ping', n: 41 }), 42);
  await assert.rejects(cli.request('srv', { type: 'slow' }, 30), isTimeoutError);
  await assert.rejects(cli.request('nobody', { type: 'ping', n: 1 }), isNoRouteError);
  assert.deepEqual(bus.members('g').sort(), ['cli', 'srv']);
});

test('publish reaches subscribers of that type only; close() drops them', async () => {
  const { attach } = setup();
  const a = attach('a', 'g');
  const notes: string[] = [];
  a.subscribe('note', (m) => {
    notes.push(m.text);
  });
  const p = attach('p', 'g');
  assert.equal(p.publish({ type: 'note', text: 'one' }), 1);
  assert.equal(p.publish({ type: 'ping', n: 1 }), 0);
  await drain();
  a.close();
  assert.equal(p.publish({ type: 'note', text: 'two' }), 0);
  assert.deepEqual(notes, ['one']);
});

test('an unexpected handler error is reported to its module; a ValidationError is only an answer', async () => {
  const { attach, errors } = setup();
  const srv = attach('srv', 'g');
  srv.serve((m) => {
    if (m.type === 'bad') throw new ValidationError([{ path: 'spec.x', reason: 'nope' }]);
    throw new Error('boom');
  });
  const cli = attach('cli', 'g');
  await assert.rejects(cli.request('srv', { type: 'bad' }), /spec\.x: nope/);
  assert.equal(errors.length, 0);
  cli.send('srv', { type: 'note', text: 'x' });
  await drain();
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.module, 'srv');
  assert.match(String(errors[0]!.err), /boom/);
});

test("another module's timeout inside a handler goes back to the caller, not to the handler's supervisor", async () => {
  const { attach, errors } = setup();
  const mid = attach('mid', 'g');
  const sink = attach('sink', 'g');
  sink.serve(() => new Promise(() => undefined));
  mid.serve(async () => {
    await mid.request('sink', { type: 'slow' }, 20);
  });
  const cli = attach('cli', 'g');
  await assert.rejects(cli.request('mid', { type: 'slow' }), isTimeoutError);
  assert.equal(errors.length, 0);
});
