/**
 * A node with the device modules for tests: real SQLite store in a temp dir, the real bus and
 * supervisor, metamanager + eventbus + devicetwin (edged and edgehub off). A probe endpoint on
 * the bus plays "the cloud / edgectl" (desired.apply, twin.set...).
 */
import { join } from 'node:path';
import { configSchema } from '../../../src/config/schema.js';
import { Bus, type ModuleBus } from '../../../src/core/bus.js';
import { nullLogger } from '../../../src/core/logger.js';
import { Supervisor } from '../../../src/core/supervisor.js';
import type { DriverFactory } from '../../../src/drivers/types.js';
import { DeviceTwin } from '../../../src/modules/devicetwin/module.js';
import { EventBus } from '../../../src/modules/eventbus/module.js';
import { MetaManager } from '../../../src/modules/metamanager/module.js';
import type { NodeMessage, NodeReplies } from '../../../src/node/messages.js';
import { nodeServices } from '../../../src/node/services.js';
import { openNodeStore, type NodeStore } from '../../../src/store/store.js';
import { waitFor as sharedWaitFor } from '../../helpers/wait.js';

export const NODE = 'node-a';

export interface DeviceNode {
  store: NodeStore;
  probe: ModuleBus<NodeMessage, NodeReplies>;
  eventbus: EventBus;
  /** mqtt URL of the broker the eventbus uses */
  url: string;
  /** store a Device or DeviceModel with this spec (the whole manifest, as the relay ships it) */
  apply(kind: 'Device' | 'DeviceModel', name: string, spec: unknown, namespace?: string): Promise<void>;
  remove(kind: 'Device' | 'DeviceModel', name: string, namespace?: string): Promise<void>;
  stop(): Promise<void>;
}

export interface DeviceNodeOptions {
  dir: string;
  drivers?: DriverFactory[];
  eventbus?: Record<string, unknown>;
  devicetwin?: Record<string, unknown>;
  node?: string;
}

const restart = { initialMs: 50, maxMs: 200, factor: 2, jitter: 0, maxRestarts: 0, resetAfterMs: 1000 };

export async function startDeviceNode(o: DeviceNodeOptions): Promise<DeviceNode> {
  const config = configSchema.parse({
    node: { name: o.node ?? NODE },
    dataDir: o.dir,
    log: { level: 'silent' },
    modules: {
      metamanager: { api: { enabled: false } },
      edged: { enabled: false },
      edgehub: { enabled: false },
      eventbus: { port: 0, ...o.eventbus },
      devicetwin: { defaultCollectCycleMs: 50, defaultReportCycleMs: 100, reconnect: { initialMs: 50, maxMs: 200 }, ...o.devicetwin },
    },
  });
  const store = openNodeStore(join(o.dir, 'edgecore.db'));
  const services = nodeServices(config, store, 'test');
  const bus = new Bus<NodeMessage, NodeReplies>();
  const sup = new Supervisor(bus, services, nullLogger(), { stopTimeoutMs: 5000 });
  const eventbus = new EventBus();
  sup.add({ module: new MetaManager(), enabled: true, restart });
  sup.add({ module: eventbus, enabled: true, restart });
  sup.add({ module: new DeviceTwin(o.drivers ? { drivers: o.drivers } : {}), enabled: true, restart });
  await sup.startAll();
  const probe = bus.attach('probe', 'test', () => undefined);
  const addr = eventbus.address;
  const url = addr ? `mqtt://127.0.0.1:${addr.port}` : String(o.eventbus?.url);
  return {
    store,
    probe,
    eventbus,
    url,
    apply: async (kind, name, spec, namespace = 'default') => {
      await probe.request('metamanager', { type: 'desired.apply', origin: 'cloud', key: { kind, namespace, name }, spec: manifest(kind, name, spec, namespace) });
    },
    remove: async (kind, name, namespace = 'default') => {
      await probe.request('metamanager', { type: 'desired.delete', key: { kind, namespace, name } });
    },
    stop: async () => {
      probe.close();
      await sup.stopAll();
      store.close();
    },
  };
}

/** waitFor with this harness's pace: devices answer within ms, so poll every 20 ms, bound at 10 s. */
export const waitFor = <T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> =>
  sharedWaitFor(what, fn, timeoutMs, 20);

/** The whole manifest of a DeviceModel or Device, as the node stores it. */
export function manifest(kind: 'Device' | 'DeviceModel', name: string, spec: unknown, namespace = 'default'): Record<string, unknown> {
  return { apiVersion: 'devices.kubeedge.io/v1beta1', kind, metadata: { name, namespace }, spec };
}

/** A DeviceModel with a ReadWrite int (0..100), a ReadOnly float, a ReadWrite boolean. */
export const thermostatModel = {
  protocol: 'virtual',
  properties: [
    { name: 'setpoint', type: 'INT', accessMode: 'ReadWrite', minimum: '0', maximum: '100', unit: 'Celsius' },
    { name: 'temperature', type: 'FLOAT', accessMode: 'ReadOnly' },
    { name: 'power', type: 'BOOLEAN', accessMode: 'ReadWrite' },
  ],
};

export function thermostat(extra: { nodeName?: string; setpoint?: string; tempFilter?: unknown } = {}): Record<string, unknown> {
  return {
    deviceModelRef: { name: 'thermostat' },
    ...(extra.nodeName !== undefined ? { nodeName: extra.nodeName } : { nodeName: NODE }),
    protocol: { protocolName: 'virtual' },
    properties: [
      {
        name: 'setpoint',
        ...(extra.setpoint !== undefined ? { desired: { value: extra.setpoint } } : {}),
        visitors: { protocolName: 'virtual', configData: { signal: 'echo', initial: 20 } },
        collectCycle: 50,
        reportCycle: 100,
        reportToCloud: true,
      },
      {
        name: 'temperature',
        visitors: { protocolName: 'virtual', configData: { signal: 'sine', amplitude: 5, offset: 20, periodMs: 2000, decimals: 2 } },
        collectCycle: 50,
        reportCycle: 100,
        reportToCloud: true,
        ...(extra.tempFilter ? { reportFilter: extra.tempFilter } : {}),
      },
      { name: 'power', visitors: { protocolName: 'virtual', configData: { signal: 'echo', initial: false } }, reportToCloud: false },
    ],
  };
}
