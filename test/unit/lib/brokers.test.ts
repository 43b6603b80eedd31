import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IClientOptions } from 'mqtt';
import { retarget } from '../../../src/lib/mqtt.js';
import { brokerList, connected, currentUrl, nextAttempt, startRotation } from '../../../src/lib/brokers.js';

const policy = { initialMs: 1000, maxMs: 60_000, factor: 2, jitter: 0 };
const A = 'mqtts://a.example:8883';
const B = 'mqtts://b.example:8883';
const C = 'mqtts://c.example:8883';

test('the list is url then urls, without blanks or repeats', () => {
  assert.deepEqual(brokerList(A), [A]);
  assert.deepEqual(brokerList(A, [B, A, ' ', C, B]), [A, B, C]);
  assert.deepEqual(brokerList('', [B]), [B]);
  assert.throws(() => startRotation(brokerList(''), 'n1'), /no broker URL/);
});

test('one URL: the same member every time, backoff growing per failure as before', () => {
  let r = startRotation([A], 'edge-1');
  const delays: number[] = [];
  for (let i = 0; i < 8; i++) {
    const n = nextAttempt(r, policy);
    assert.equal(currentUrl(n.rotation), A);
    delays.push(n.delayMs);
    r = n.rotation;
  }
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000]);
  assert.equal(nextAttempt(connected(r), policy).delayMs, 1000);
});

test('several members: each tried once at the first step, backoff grows per failed round', () => {
  let r = startRotation([A, B, C], 'edge-1');
  const start = r.index;
  const seen: string[] = [];
  const delays: number[] = [];
  for (let i = 0; i < 9; i++) {
    const n = nextAttempt(r, policy);
    r = n.rotation;
    seen.push(currentUrl(r));
    delays.push(n.delayMs);
  }
  assert.deepEqual(delays, [1000, 1000, 1000, 2000, 2000, 2000, 4000, 4000, 4000]);
  // every member once per round, in list order from where the node started
  const order = [A, B, C];
  assert.deepEqual(seen.slice(0, 3), [1, 2, 3].map((k) => order[(start + k) % 3]));
  assert.deepEqual(seen.slice(3, 6), seen.slice(0, 3));
});

test('a connection resets the round but keeps the member; losing it moves on at once', () => {
  let r = startRotation([A, B, C], 'edge-1');
  for (let i = 0; i < 7; i++) r = nextAttempt(r, policy).rotation;
  const at = r.index;
  r = connected(r);
  assert.equal(r.index, at);
  assert.equal(r.failures, 0);
  const lost = nextAttempt(r, policy);
  assert.equal(lost.rotation.index, (at + 1) % 3);
  assert.equal(lost.delayMs, 1000);
});

test('nodes start spread over the members by name, each always on the same one', () => {
  const counts = [0, 0, 0];
  for (let i = 0; i < 300; i++) counts[startRotation([A, B, C], `node-${i}`).index]!++;
  for (const c of counts) assert.ok(c > 60, `uneven spread: ${counts}`);
  assert.equal(startRotation([A, B, C], 'edge-7').index, startRotation([A, B, C], 'edge-7').index);
});

test('jitter applies within the round delay', () => {
  const r = startRotation([A, B], 'x');
  const jittered = { ...policy, jitter: 0.5 };
  assert.equal(nextAttempt(r, jittered, () => 0).delayMs, 500);
  assert.equal(nextAttempt(r, jittered, () => 1).delayMs, 1000);
});

test('retarget points the options mqtt.js builds sockets from at another member', () => {
  const o: IClientOptions = { protocol: 'mqtts', host: 'a.example', hostname: 'a.example', port: 8883, servername: 'a.example', path: '/' };
  retarget(o, 'mqtt://127.0.0.1:2883');
  assert.deepEqual([o.protocol, o.host, o.hostname, o.port, o.path, o.servername], ['mqtt', '127.0.0.1', '127.0.0.1', 2883, undefined, undefined]);
  retarget(o, 'wss://[::1]/mqtt?x=1');
  assert.deepEqual([o.protocol, o.hostname, o.port, o.path], ['wss', '::1', 443, '/mqtt?x=1']);
  retarget(o, 'mqtts://b.example');
  assert.equal(o.port, 8883);
  assert.throws(() => retarget(o, 'http://b.example'), /not an MQTT URL/);
});
