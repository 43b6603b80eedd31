/** The MQTT packet guard: framing followed across any chunking, the first oversized header refused. */
import assert from 'node:assert/strict';
import { Duplex, PassThrough } from 'node:stream';
import { test } from 'node:test';
import mqttPacket from 'mqtt-packet';
import { guardMqttStream, MqttPacketScanner } from '../../../src/lib/mqtt-guard.js';

/** MQTT's remaining-length varint */
function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

/** a PUBLISH (QoS 0) with a body of `bodyBytes` (topic included in it, as far as framing goes) */
const publish = (bodyBytes: number): Buffer => Buffer.concat([Buffer.from([0x30, ...varint(bodyBytes)]), Buffer.alloc(bodyBytes, 0x61)]);
const PINGREQ = Buffer.from([0xc0, 0x00]);

/** feed `bytes` in chunks of `size`; the first refusal, or ok */
function feedChunked(s: MqttPacketScanner, bytes: Buffer, size: number): ReturnType<MqttPacketScanner['feed']> {
  for (let i = 0; i < bytes.length; i += size) {
    const v = s.feed(bytes.subarray(i, i + size));
    if (!v.ok) return v;
  }
  return { ok: true };
}

test('packets up to the limit pass whatever the chunking; the first larger one is refused at its header', () => {
  const limit = 1000;
  // header sizes of 1, 2 and 3 length bytes; a packet of exactly the limit
  const fits = Buffer.concat([PINGREQ, publish(100), publish(997), publish(0), PINGREQ]);
  for (const size of [1, 2, 3, 7, 64, fits.length]) assert.deepEqual(feedChunked(new MqttPacketScanner(limit), fits, size), { ok: true }, `chunks of ${size}`);

  for (const size of [1, 3, 4096]) {
    const s = new MqttPacketScanner(limit);
    const v = feedChunked(s, Buffer.concat([publish(10), publish(998)]), size);
    assert.equal(v.ok, false);
    assert.equal(!v.ok && v.packetBytes, 1001);
    assert.match(!v.ok ? v.reason : '', /packet of 1001 bytes is over the 1000-byte limit/);
    // and it stays refused
    assert.equal(s.feed(PINGREQ).ok, false);
  }
});

test('a 100 MB header is refused from its first 5 bytes, before any of its body', () => {
  const s = new MqttPacketScanner(512 * 1024);
  const header = Buffer.from([0x30, ...varint(100 * 1024 * 1024)]);
  assert.equal(header.length, 5);
  assert.equal(s.feed(header.subarray(0, 4)).ok, true, 'the length is not complete yet');
  const v = s.feed(header.subarray(4));
  assert.equal(v.ok, false);
  assert.equal(!v.ok && v.packetBytes, 5 + 100 * 1024 * 1024);
});

test('a remaining length of more than 4 bytes is malformed', () => {
  const v = new MqttPacketScanner(1 << 30).feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]));
  assert.deepEqual(v, { ok: false, reason: 'malformed remaining length', packetBytes: -1 });
});

/** a duplex whose written bytes come out of `sent` and whose readable side is fed by `feed` */
function socketPair(): { conn: Duplex; feed: PassThrough; sent: Buffer[] } {
  const feed = new PassThrough();
  const sent: Buffer[] = [];
  const conn = new Duplex({
    read() {
      feed.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      sent.push(chunk);
      cb();
    },
  });
  feed.on('data', (c: Buffer) => conn.push(c));
  feed.on('end', () => conn.push(null));
  return { conn, feed, sent };
}

test('the guarded stream passes bytes both ways and closes both ends on an oversized packet', async () => {
  const { conn, feed, sent } = socketPair();
  const refusals: [string, number][] = [];
  const guarded = guardMqttStream(conn, 100, (reason, bytes) => refusals.push([reason, bytes]));
  const read: Buffer[] = [];
  guarded.on('data', (c: Buffer) => read.push(c));
  guarded.write(Buffer.from('CONNACK'));
  feed.write(publish(50));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(Buffer.concat(read), publish(50));
  assert.deepEqual(Buffer.concat(sent).toString(), 'CONNACK');

  const closed = new Promise((r) => guarded.once('close', r));
  feed.write(Buffer.concat([publish(10), publish(200).subarray(0, 20)]));
  await closed;
  assert.deepEqual(refusals, [['packet of 203 bytes is over the 100-byte limit', 203]]);
  assert.equal(conn.destroyed, true);
  // nothing of the chunk that carried the refused header reached the broker (the connection is gone anyway)
  assert.deepEqual(Buffer.concat(read), publish(50));
});

test('a packet mqtt-packet writes in pieces reaches the socket in one write, and several packets written together in one', async () => {
  // a socket that, like net.Socket, takes what was corked as one writev: each call is one write(2)
  const calls: Buffer[][] = [];
  const conn = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      calls.push([chunk]);
      cb();
    },
    writev(chunks, cb) {
      calls.push(chunks.map((c) => c.chunk as Buffer));
      cb();
    },
  });
  const guarded = guardMqttStream(conn, 1 << 20, () => {});
  const packet = { cmd: 'publish', topic: 'edge/v1/nodes/n-1/desired', payload: Buffer.from('{"v":1}'), qos: 1, messageId: 7, retain: false, dup: false } as const;
  mqttPacket.writeToStream(packet, guarded);
  await new Promise((r) => setImmediate(r));
  assert.equal(calls.length, 1, `one write for the packet, not one per piece (got ${calls.map((c) => c.length).join(', ')})`);
  assert.deepEqual(Buffer.concat(calls[0]!), mqttPacket.generate(packet));

  // a CONNACK and a SUBACK written in the same turn: at most the first alone, the rest together
  calls.length = 0;
  mqttPacket.writeToStream({ cmd: 'connack', returnCode: 0, sessionPresent: false }, guarded);
  mqttPacket.writeToStream({ cmd: 'suback', messageId: 1, granted: [1] }, guarded);
  mqttPacket.writeToStream(packet, guarded);
  await new Promise((r) => setImmediate(r));
  assert.ok(calls.length <= 2, `${calls.length} writes for three packets`);
  assert.deepEqual(
    Buffer.concat(calls.flat()),
    Buffer.concat([mqttPacket.generate({ cmd: 'connack', returnCode: 0, sessionPresent: false }), mqttPacket.generate({ cmd: 'suback', messageId: 1, granted: [1] }), mqttPacket.generate(packet)]),
  );
});
