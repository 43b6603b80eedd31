import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { test } from 'node:test';
import { AttemptLedger, attemptMarkOf, ConnectionGate, ConnectThrottle, connectionCap, parseOpenFileLimit } from '../../../../src/relay/broker/admission.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            20000                20000                files
Max locked memory         8388608              8388608              bytes
`;

test('the open-file limit is read from /proc/<pid>/limits; the cap keeps the reserve free', () => {
  assert.equal(parseOpenFileLimit(LIMITS), 20000);
  assert.equal(parseOpenFileLimit(LIMITS.replace('20000                20000', 'unlimited            unlimited')), undefined);
  assert.equal(parseOpenFileLimit('garbage'), undefined);
  assert.equal(connectionCap(0, 20000, 256), 19744);
  assert.equal(connectionCap(5000, 20000, 256), 5000, 'a configured cap wins');
  assert.equal(connectionCap(0, undefined, 256), Number.MAX_SAFE_INTEGER);
  assert.equal(connectionCap(0, 100, 256), 1);
});

test('the gate closes connections beyond the cap at once and frees a slot when one closes (real sockets)', async (t) => {
  const gate = new ConnectionGate(2);
  const server = createServer((s) => void gate.admit(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const open = async (): Promise<{ s: Socket; closed: Promise<void> }> => {
    const s = connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    await new Promise((r) => s.once('connect', r));
    return { s, closed };
  };
  const a = await open();
  const b = await open();
  const c = await open();
  await c.closed; // beyond the cap: closed by the relay side
  assert.equal(gate.connections, 2);
  a.s.destroy();
  while (gate.connections > 1) await new Promise((r) => setTimeout(r, 5));
  const d = await open();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(d.s.destroyed, false, 'a freed slot is used again');
  assert.deepEqual([gate.refused, gate.peak, gate.connections], [1, 2, 2]);
  b.s.destroy();
  d.s.destroy();
});

const will = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

test('an attempt mark is read from the Will payload; anything else has none', () => {
  assert.deepEqual(attemptMarkOf(will({ online: false, bootId: 'b1', attempt: 3, timestamp: 1 })), { bootId: 'b1', attempt: 3 });
  for (const bad of [undefined, Buffer.alloc(0), Buffer.from('not json'), will({ bootId: 'b1' }), will({ bootId: '', attempt: 1 }), will({ bootId: 'b', attempt: 0 }), will({ bootId: 'b', attempt: 1.5 }), will({ bootId: 'x'.repeat(200), attempt: 1 }), will([1])]) {
    assert.equal(attemptMarkOf(bad), undefined, String(bad));
  }
});

test('a CONNECT of an attempt older than an accepted one of the same boot is refused; other boots and unmarked clients are not', () => {
  const l = new AttemptLedger();
  assert.equal(l.admit('n1', { bootId: 'b1', attempt: 1 }), true);
  assert.equal(l.admit('n1', { bootId: 'b1', attempt: 3 }), true);
  // attempt 2 was abandoned by the node; its CONNECT arrives late
  assert.equal(l.isStale('n1', { bootId: 'b1', attempt: 2 }), true);
  assert.equal(l.admit('n1', { bootId: 'b1', attempt: 2 }), false);
  assert.equal(l.staleRefused, 1);
  assert.equal(l.admit('n1', { bootId: 'b1', attempt: 3 }), true, 'the same attempt again (a retransmitted CONNECT) passes');
  assert.equal(l.admit('n2', { bootId: 'b1', attempt: 1 }), true, 'per client id');
  assert.equal(l.admit('n1', { bootId: 'b2', attempt: 1 }), true, 'a new boot starts over');
  assert.equal(l.admit('n1', { bootId: 'b1', attempt: 9 }), true, 'across boots there is no order: not refused');
  assert.equal(l.admit('n1', undefined), true, 'nodes without marks are never refused');
  l.forget('n1');
  assert.equal(l.isStale('n1', { bootId: 'b1', attempt: 1 }), false);
});

/** a connection as the throttle sees it: closes when the test says so */
class FakeConn extends EventEmitter {
  destroy(): void {
    this.emit('close');
  }
}

test('the connect throttle: beyond its limit CONNECTs wait in arrival order; a CONNACK or a close frees the slot once for the next', () => {
  const th = new ConnectThrottle(2, 5000, () => 0);
  const went: string[] = [];
  const go = (name: string) => (ok: boolean) => went.push(`${name}:${ok ? 'go' : 'away'}`);
  const [a, b, c, d] = [new FakeConn(), new FakeConn(), new FakeConn(), new FakeConn()];
  th.begin(a, go('a'));
  th.begin(b, go('b'));
  th.begin(c, go('c'));
  th.begin(d, go('d'));
  assert.deepEqual(went, ['a:go', 'b:go'], 'two in progress, two waiting (not refused)');
  assert.deepEqual([th.inProgress, th.waiting, th.held], [2, 2, 2]);
  th.end(a); // its CONNACK went out
  th.end(a); // and later the connection closes: counted once
  a.destroy();
  assert.deepEqual(went, ['a:go', 'b:go', 'c:go'], 'the first in line goes, only one');
  assert.equal(th.inProgress, 2);
  b.destroy(); // closed before its CONNACK
  assert.deepEqual(went.slice(3), ['d:go']);
  th.end(new FakeConn()); // never begun: ignored
  assert.deepEqual([th.inProgress, th.waiting, th.refused], [2, 0, 0]);
});

test('the connect throttle turns away a CONNECT that waited longer than maxWaitMs, and skips one whose node closed it', () => {
  let clock = 0;
  const th = new ConnectThrottle(1, 5000, () => clock);
  const went: string[] = [];
  const go = (name: string) => (ok: boolean) => went.push(`${name}:${ok ? 'go' : 'away'}`);
  const [a, b, c, d] = [new FakeConn(), new FakeConn(), new FakeConn(), new FakeConn()];
  th.begin(a, go('a'));
  th.begin(b, go('b')); // waits from t=0
  clock = 3000;
  th.begin(c, go('c')); // waits from t=3000; its node gives up:
  c.destroy();
  th.begin(d, go('d')); // waits from t=3000
  clock = 6000;
  th.end(a);
  assert.deepEqual(went, ['a:go', 'b:away', 'd:go'], 'b waited 6 s: turned away; c left the line; d goes');
  assert.deepEqual([th.refused, th.inProgress, th.waiting], [1, 1, 0]);
});

test('a new CONNECT does not jump the line while others wait', () => {
  const th = new ConnectThrottle(1);
  const went: string[] = [];
  const [a, b, c] = [new FakeConn(), new FakeConn(), new FakeConn()];
  th.begin(a, () => went.push('a'));
  th.begin(b, () => went.push('b'));
  a.destroy();
  th.begin(c, () => went.push('c'));
  assert.deepEqual(went, ['a', 'b']);
  b.destroy();
  assert.deepEqual(went, ['a', 'b', 'c']);
});
