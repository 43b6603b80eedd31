import mqtt from 'mqtt';
import type { TestContext } from 'node:test';
import { needService } from './service.js';

/** The external broker the CI starts (mosquitto). */
export const MQTT_URL = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1883';

export async function needMqtt(t: TestContext, url = MQTT_URL): Promise<boolean> {
  return needService(t, `MQTT broker at ${url}`, async () => {
    const c = await mqtt.connectAsync(url, { connectTimeout: 2000, reconnectPeriod: 0 });
    await c.endAsync();
  });
}
