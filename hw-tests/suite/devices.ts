/** The DeviceModels and Devices the daemon cases seed, built from the board's wiring (no global numbers). */
import type { Board } from './board.js';
import type { Seed } from './daemon.js';

const changeOnly = { mode: 'change' as const };

function prop(protocolName: string, name: string, configData: Record<string, unknown>, collectCycle: number): Record<string, unknown> {
  return { name, visitors: { protocolName, configData }, collectCycle, reportCycle: 1000, reportFilter: changeOnly, reportToCloud: true };
}

export function seeds(b: Board): Seed[] {
  const g = b.gpio;
  const out: Seed[] = [
    {
      kind: 'DeviceModel',
      name: 'hil-panel',
      spec: {
        protocol: 'gpio',
        properties: [
          { name: 'button', type: 'BOOLEAN', accessMode: 'ReadOnly' },
          { name: 'door', type: 'BOOLEAN', accessMode: 'ReadOnly' },
          { name: 'bounce', type: 'BOOLEAN', accessMode: 'ReadOnly' },
          { name: 'led', type: 'BOOLEAN', accessMode: 'ReadWrite' },
          { name: 'relay', type: 'BOOLEAN', accessMode: 'ReadWrite' },
        ],
      },
    },
    {
      kind: 'Device',
      name: 'panel',
      spec: {
        deviceModelRef: { name: 'hil-panel' },
        nodeName: 'hil-node',
        protocol: { protocolName: 'gpio', configData: { chip: g.chip } },
        properties: [
          prop('gpio', 'button', { offset: g.offsets.button, direction: 'in', edge: 'both' }, 1000),
          prop('gpio', 'door', { offset: g.offsets.door, direction: 'in', edge: 'both', activeLow: true }, 1000),
          prop('gpio', 'bounce', { offset: g.offsets.bounce, direction: 'in', edge: 'both', debounceMs: 40 }, 1000),
          prop('gpio', 'led', { offset: g.offsets.led, direction: 'out' }, 1000),
          prop('gpio', 'relay', { offset: g.offsets.relay, direction: 'out', activeLow: true }, 1000),
        ],
      },
    },
  ];
  if (b.i2c) {
    out.push(
      { kind: 'DeviceModel', name: 'hil-tmp102', spec: { protocol: 'i2c', properties: [{ name: 'temperature', type: 'FLOAT', accessMode: 'ReadOnly', unit: 'Celsius' }] } },
      {
        kind: 'Device',
        name: 'tmp102',
        spec: {
          deviceModelRef: { name: 'hil-tmp102' },
          nodeName: 'hil-node',
          protocol: { protocolName: 'i2c', configData: { bus: b.i2c.bus, address: b.i2c.tmp102, retries: 0 } },
          // TMP102: 12-bit two's complement in the top bits of a big-endian word, 0.0625 °C/LSB = word / 256
          properties: [prop('i2c', 'temperature', { register: 0, width: 16, byteOrder: 'big', signed: true, scale: 1 / 256 }, 200)],
        },
      },
    );
  }
  const mb = b.serial?.modbus;
  if (mb) {
    out.push(
      {
        kind: 'DeviceModel',
        name: 'hil-meter',
        spec: {
          protocol: 'modbus-rtu',
          properties: [
            { name: 'temperature', type: 'FLOAT', accessMode: 'ReadOnly' },
            { name: 'setpoint', type: 'INT', accessMode: 'ReadWrite', minimum: '0', maximum: '1000' },
            { name: 'fan', type: 'BOOLEAN', accessMode: 'ReadWrite' },
          ],
        },
      },
      {
        kind: 'Device',
        name: 'meter',
        spec: {
          deviceModelRef: { name: 'hil-meter' },
          nodeName: 'hil-node',
          protocol: {
            protocolName: 'modbus-rtu',
            configData: { port: mb.port, baudRate: 115200, slaveId: mb.slaveId, timeoutMs: 1000, reconnect: { attempts: 1 } },
          },
          properties: [
            prop('modbus-rtu', 'temperature', { register: 'input', address: 0, scale: 0.1 }, 300),
            prop('modbus-rtu', 'setpoint', { register: 'holding', address: 10 }, 300),
            prop('modbus-rtu', 'fan', { register: 'coil', address: 3 }, 300),
          ],
        },
      },
    );
  }
  return out;
}
