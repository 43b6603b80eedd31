/** The node's side of the application channel over the store: routes, accepting app messages, resends, the downlink mark. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { appUpSchema, decodeBody, type AppRoutes } from '../../../src/contract/appchan.js';
import { AppChannelStore } from '../../../src/store/app.js';
import { openNodeStore, type NodeStore } from '../../../src/store/store.js';
import { Uplink } from '../../../src/store/uplink.js';
import { tmpDir } from '../../helpers/tmp.js';

const routes = (version: number, filters: string[], epoch = 'e1'): AppRoutes => ({
  epoch,
  version,
  filters,
  quota: { messagesPerSecond: 10, burst: 10, bytesPerSecond: 1e6, maxMessageBytes: 100 },
  timestamp: 1,
});

function open(t: TestContext, file = join(tmpDir(t), 'n.db')): { s: NodeStore; up: Uplink; app: AppChannelStore; file: string } {
  const s = openNodeStore(file);
  t.after(() => s.close());
  const up = new Uplink(s, 'n1');
  return { s, up, app: new AppChannelStore(s, up), file };
}

const queued = (up: Uplink) => up.pendingApp(100).map((m) => appUpSchema.parse(JSON.parse(m.payload.toString())));

test('only topics that leave the node are taken: the upload spaces always, a rule topic once the relay named it', (t) => {
  const { app, up } = open(t);
  assert.equal(app.accept('$hw/events/upload/cam', Buffer.from('a')), 'queued');
  assert.equal(app.accept('plant/user/temp', Buffer.from('b')), 'queued');
  assert.equal(app.accept('plant/telemetry', Buffer.from('c')), 'not-forwarded', 'no rule names it yet');
  assert.equal(app.accept('$hw/events/device/d/twin/update', Buffer.from('d')), 'not-forwarded', 'mapper traffic stays local');
  assert.ok(app.setRoutes(routes(1, ['plant/telemetry', 'plant/sensors/#'])));
  assert.equal(app.accept('plant/telemetry', Buffer.from('e')), 'queued');
  assert.equal(app.accept('plant/sensors/a/b', Buffer.from('f')), 'queued');
  assert.equal(app.accept('plant/#', Buffer.from('g')), 'invalid-topic');
  const q = queued(up);
  assert.deepEqual(q.map((m) => [m.topic, decodeBody(m).toString()]), [
    ['$hw/events/upload/cam', 'a'],
    ['plant/user/temp', 'b'],
    ['plant/telemetry', 'e'],
    ['plant/sensors/a/b', 'f'],
  ]);
});

test('binary payloads travel as base64, text as text', (t) => {
  const { app, up } = open(t);
  app.accept('x/user/bin', Buffer.from([0xff, 0x00, 0xfe]));
  app.accept('x/user/txt', Buffer.from('héllo'));
  const [bin, txt] = queued(up);
  assert.equal(bin!.payloadBase64, '/wD+');
  assert.equal(txt!.payload, 'héllo');
});

test('older routes are ignored; another epoch is taken; routes survive a reopen', (t) => {
  const first = open(t);
  assert.ok(first.app.setRoutes(routes(5, ['a/b'])));
  assert.ok(!first.app.setRoutes(routes(4, ['c/d'])), 'stale');
  assert.ok(first.app.setRoutes(routes(1, ['e/f'], 'e2')), 'a new relay store');
  first.s.close();
  const again = open(t, first.file);
  assert.deepEqual(again.app.filters(), ['e/f']);
  assert.equal(again.app.maxMessageBytes(), 100);
});

test('over the size limit a message is refused and counted', (t) => {
  const { app } = open(t);
  assert.equal(app.accept('a/user/x', Buffer.alloc(256 * 1024 + 1)), 'too-large', 'the default limit before any routes');
  app.setRoutes(routes(1, []));
  assert.equal(app.accept('a/user/x', Buffer.alloc(101)), 'too-large');
  assert.equal(app.accept('a/user/x', Buffer.alloc(100)), 'queued');
  assert.equal(app.counters().tooLarge, 2);
});

test('a QoS 1 resend of a kept message is recognised; a new message on a reused packet id is not', (t) => {
  const { app, up } = open(t);
  const r = (messageId: number, dup: boolean) => ({ client: 'mqtt:app-1', messageId, dup });
  assert.equal(app.accept('a/user/x', Buffer.from('m1'), r(1, false)), 'queued');
  assert.equal(app.accept('a/user/x', Buffer.from('m1'), r(1, true)), 'duplicate', 'the same packet again, DUP set');
  assert.equal(app.accept('a/user/x', Buffer.from('m2'), r(1, false)), 'queued', 'the id reused for a new message (the first was acknowledged)');
  assert.equal(app.accept('a/user/x', Buffer.from('m3'), r(2, true)), 'queued', 'a resend of something never kept');
  assert.equal(app.accept('a/user/x', Buffer.from('m1'), { client: 'mqtt:app-2', messageId: 1, dup: true }), 'queued', 'another client');
  assert.deepEqual(queued(up).map((m) => m.payload), ['m1', 'm2', 'm3', 'm1']);
  assert.equal(app.counters().duplicates, 1);
});

test('the downlink mark: handled ids are seen, a new relay stream starts over', (t) => {
  const { app } = open(t);
  assert.ok(!app.downSeen('s1', 1));
  app.markDown('s1', 1);
  app.markDown('s1', 3);
  app.markDown('s1', 2);
  assert.ok(app.downSeen('s1', 2) && app.downSeen('s1', 3) && !app.downSeen('s1', 4));
  assert.ok(!app.downSeen('s2', 1), 'another stream');
  app.markDown('s2', 7);
  assert.ok(app.downSeen('s2', 7) && !app.downSeen('s1', 1));
});
