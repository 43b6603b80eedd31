/** A real MQTT round trip through the broker CI runs (mosquitto), QoS 1 and retained. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type EventEmitter, once } from 'node:events';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { MQTT_URL, needMqtt } from '../../helpers/mqtt.js';

test('QoS 1 publish reaches a subscriber; a retained message reaches a late subscriber', async (t) => {
  if (!(await needMqtt(t))) return;
  const topic = `edgecore-test/${randomBytes(4).toString('hex')}`;
  const a = await mqtt.connectAsync(MQTT_URL, { reconnectPeriod: 0 });
  const b = await mqtt.connectAsync(MQTT_URL, { reconnectPeriod: 0 });
  t.after(async () => {
    await a.publishAsync(`${topic}/retained`, '', { retain: true, qos: 1 });
    await a.endAsync();
    await b.endAsync();
  });
  await b.subscribeAsync(`${topic}/live`, { qos: 1 });
  const got = once(b as unknown as EventEmitter, 'message');
  await a.publishAsync(`${topic}/live`, 'ping', { qos: 1 });
  const [t1, p1] = (await got) as [string, Buffer];
  assert.equal(t1, `${topic}/live`);
  assert.equal(p1.toString(), 'ping');

  await a.publishAsync(`${topic}/retained`, 'kept', { qos: 1, retain: true });
  const late = once(b as unknown as EventEmitter, 'message');
  await b.subscribeAsync(`${topic}/retained`, { qos: 1 });
  const [, p2, packet] = (await late) as [string, Buffer, { retain: boolean }];
  assert.equal(p2.toString(), 'kept');
  assert.equal(packet.retain, true);
});
