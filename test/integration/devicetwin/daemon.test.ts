/**
 * The production wiring: `startNode` with the real module list (lazy factories, built-in driver
 * registry), a Device written to the store as the cloud path would, and a mapper-side MQTT client
 * on the embedded broker.
 */
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { configSchema } from '../../../src/config/schema.js';
import { nullLogger } from '../../../src/core/logger.js';
import { startNode } from '../../../src/node/daemon.js';
import { tmpDir } from '../../helpers/tmp.js';
import { manifest, thermostat, thermostatModel, waitFor } from './harness.js';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

test('daemon: built-in virtual device is driven and visible to a mapper over the embedded broker', async (t) => {
  const port = await freePort();
  const config = configSchema.parse({
    node: { name: 'node-a' },
    dataDir: tmpDir(t),
    log: { level: 'silent' },
    ops: { port: 0 },
    modules: {
      metamanager: { api: { enabled: false } },
      edged: { enabled: false },
      eventbus: { port },
      devicetwin: { defaultCollectCycleMs: 50, defaultReportCycleMs: 100 },
    },
  });
  const node = await startNode({ config, log: nullLogger(), version: 'test' });
  t.after(() => node.stop());
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
  t.after(() => c.endAsync(true));
  const seen: { topic: string; body: Record<string, unknown> }[] = [];
  c.on('message', (topic, p) => seen.push({ topic, body: JSON.parse(p.toString()) as Record<string, unknown> }));
  await c.subscribeAsync(['$ke/events/device/#', '$hw/events/device/#']);

  node.store.resources.put({ kind: 'DeviceModel', namespace: 'default', name: 'thermostat' }, manifest('DeviceModel', 'thermostat', thermostatModel));
  node.store.resources.put({ kind: 'Device', namespace: 'default', name: 'thermo-d' }, manifest('Device', 'thermo-d', thermostat({ setpoint: '44' })));
  await waitFor('data/update with setpoint 44', () =>
    seen.find((m) => m.topic === '$ke/events/device/default/thermo-d/data/update' && (m.body.data as Record<string, { value: string }>).setpoint?.value === '44'),
  );
  await c.publishAsync('$hw/events/device/thermo-d/twin/get', JSON.stringify({ event_id: 'g1', timestamp: Date.now() }));
  const r = await waitFor('twin/get/result', () => seen.find((m) => m.topic === '$hw/events/device/thermo-d/twin/get/result')?.body);
  assert.equal(r.event_id, 'g1');
  const twin = r.twin as Record<string, { expected?: { value: string }; actual?: { value: string } }>;
  assert.equal(twin.setpoint?.expected?.value, '44');
  assert.equal(twin.setpoint?.actual?.value, '44');
  assert.ok(await node.healthy());
});
