/** The uplink: one envelope, status and outbox row in one transaction, stamped messages for the flush. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { topics } from '../../../src/contract/topics.js';
import type { ResourceChange } from '../../../src/store/resources.js';
import { openNodeStore } from '../../../src/store/store.js';
import { stamp, Uplink } from '../../../src/store/uplink.js';
import { tmpDir } from '../../helpers/tmp.js';

const T0 = new Date('2025-01-02T03:04:05Z');
const device = { kind: 'Device', namespace: 'default', name: 'd1' };

function open(t: TestContext, file = join(tmpDir(t), 'n.db')) {
  const store = openNodeStore(file);
  t.after(() => store.close());
  return { store, uplink: new Uplink(store, 'n1', () => T0), file };
}

const body = (p: Buffer): Record<string, unknown> => JSON.parse(p.toString('utf8')) as Record<string, unknown>;

test('a status report stores the status and queues the envelope (upstream view, applied version) in one go', (t) => {
  const { store, uplink } = open(t);
  store.resources.put(device, { apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'Device', metadata: { name: 'd1', namespace: 'default' }, spec: {} });
  uplink.setApplied({ epoch: 'e1', version: 7 });
  const heard: ResourceChange[] = [];
  store.resources.onChange((c) => heard.push(c));
  assert.deepEqual(uplink.reportStatus(device, { twins: ['all'] }, { twins: ['cloud'] }), { changed: true });
  assert.deepEqual(store.resources.get(device)?.status, { twins: ['all'] });
  assert.deepEqual(heard.map((c) => c.op), ['status']);
  const [m] = uplink.pending(10);
  assert.equal(m?.topic, topics.reportedState('n1'));
  const { seq, stream, ...envelope } = body(m!.payload);
  const uid = store.resources.get(device)!.uid;
  assert.deepEqual(envelope, { kind: 'Device', namespace: 'default', name: 'd1', uid, status: { twins: ['cloud'] }, desiredVersion: 7, timestamp: T0.getTime() });
  assert.equal(seq, m!.seq);
  assert.equal(stream, uplink.streamId());

  // the same status again: nothing stored, but queued again (the relay may have missed it); one row per object
  assert.deepEqual(uplink.reportStatus(device, { twins: ['all'] }), { changed: false });
  assert.equal(uplink.backlog().rows, 1);
  assert.deepEqual(body(uplink.pending(10)[0]!.payload).status, { twins: ['all'] });
});

test('when the outbox write fails the stored status is rolled back and nobody hears a change', (t) => {
  const { store, uplink } = open(t);
  store.resources.put(device, { kind: 'Device' });
  store.db.exec("CREATE TEMP TRIGGER outbox_full BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'outbox full'); END;");
  const heard: ResourceChange[] = [];
  store.resources.onChange((c) => heard.push(c));
  assert.throws(() => uplink.reportStatus(device, { state: 'online' }), /outbox full/);
  assert.equal(store.resources.get(device)?.status, null);
  assert.deepEqual(heard, []);
});

test('the node status and telemetry go up in the same envelope; state coalesces, telemetry appends', (t) => {
  const { uplink } = open(t);
  uplink.reportNode({ appliedVersion: 0, epoch: '', agentVersion: 'v', bootId: 'b', arch: 'x', platform: 'linux', outbox: { rows: 0, dropped: 0 } });
  uplink.reportTelemetry(device, 'twin.reported', { property: 't', value: '1' });
  uplink.reportTelemetry(device, 'twin.reported', { property: 't', value: '2' });
  uplink.reportNode({ appliedVersion: 3, epoch: 'e', agentVersion: 'v', bootId: 'b', arch: 'x', platform: 'linux', outbox: { rows: 2, dropped: 0 } });
  const all = uplink.pending(10).map((m): Record<string, unknown> => ({ topic: m.topic, ...body(m.payload) }));
  assert.deepEqual(
    all.map((m) => [m.topic, m.kind, m.name, (m.data as { value?: string } | undefined)?.value ?? (m.status as { appliedVersion: number }).appliedVersion]),
    [
      [topics.reportedTelemetry('n1'), 'Device', 'd1', '1'],
      [topics.reportedTelemetry('n1'), 'Device', 'd1', '2'],
      [topics.reportedState('n1'), 'Node', 'n1', 3],
    ],
  );
  assert.equal(all[0]!.event, 'twin.reported');
  assert.equal(all[2]!.namespace, '');
});

test('acknowledged messages leave the queue; the stream id and applied version survive a reopen', (t) => {
  const { uplink, file, store } = open(t);
  uplink.setApplied({ epoch: 'e9', version: 42 });
  uplink.reportTelemetry(device, 'x', 1);
  uplink.reportTelemetry(device, 'x', 2);
  const first = uplink.pending(10);
  uplink.ack([first[0]!.seq]);
  assert.deepEqual(uplink.pending(10).map((m) => m.seq), [first[1]!.seq]);
  const stream = uplink.streamId();
  store.close();
  const again = open(t, file).uplink;
  assert.equal(again.streamId(), stream);
  assert.deepEqual(again.applied(), { epoch: 'e9', version: 42 });
  assert.equal(body(again.pending(10)[0]!.payload).stream, stream);
});

test('a fresh store has applied nothing', (t) => {
  assert.deepEqual(open(t).uplink.applied(), { epoch: '', version: 0 });
});

test('stamping adds the sequence and stream to a JSON object and leaves anything else as it is', () => {
  assert.deepEqual(body(stamp(Buffer.from('{"kind":"Pod","a":1}'), 7, 's')), { kind: 'Pod', a: 1, seq: 7, stream: 's' });
  assert.equal(stamp(Buffer.from('not json'), 7, 's').toString(), 'not json');
  assert.equal(stamp(Buffer.from('[1]'), 7, 's').toString(), '[1]');
  assert.deepEqual(body(stamp(Buffer.from('{}'), 8, 's')), { seq: 8, stream: 's' });
  // multi-byte text stays whole; a stream id needing escapes is escaped; a stale seq is overridden
  assert.deepEqual(body(stamp(Buffer.from(JSON.stringify({ name: 'Grüße ✓', seq: 1 })), 9, 'a"b')), { name: 'Grüße ✓', seq: 9, stream: 'a"b' });
});

test('an event goes up as an OBJECT_EVENT with the uid the node holds (appended, never coalesced)', (t) => {
  const { store, uplink } = open(t);
  const pod = { kind: 'Pod', namespace: 'default', name: 'web' };
  store.resources.put(pod, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default' }, spec: {} }, { uid: 'uid-web' });
  uplink.reportEvent(pod, { type: 'Normal', reason: 'Started', message: 'Started container c', fieldPath: 'spec.containers{c}' });
  uplink.reportEvent(pod, { type: 'Normal', reason: 'Started', message: 'Started container c', fieldPath: 'spec.containers{c}' });
  const rows = uplink.pending(10);
  assert.equal(rows.length, 2);
  const { seq: _s, stream: _st, ...m } = body(rows[0]!.payload);
  assert.equal(rows[0]!.topic, topics.reportedTelemetry('n1'));
  assert.deepEqual(m, { kind: 'Pod', namespace: 'default', name: 'web', event: 'object.event', data: { type: 'Normal', reason: 'Started', message: 'Started container c', fieldPath: 'spec.containers{c}', uid: 'uid-web' }, desiredVersion: 0, timestamp: T0.getTime() });
});
