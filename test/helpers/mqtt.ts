import { type AddressInfo, createServer } from 'node:net';
import { Aedes } from 'aedes';
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

/** A real aedes broker of the test's own on an ephemeral loopback port (closed when the test ends); its hooks are the test's to set. */
export async function aedesBroker(t: TestContext): Promise<{ url: string; aedes: Aedes }> {
  const aedes = await Aedes.createBroker();
  const server = createServer((s) => aedes.handle(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(async () => {
    server.close();
    await new Promise<void>((r) => aedes.close(() => r()));
  });
  return { url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`, aedes };
}
