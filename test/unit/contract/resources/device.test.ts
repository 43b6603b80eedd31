/** DeviceModel/Device schema: KubeEdge v1beta1 YAML validates unchanged; bad input is refused with field paths. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import {
  checkDevice,
  checkDesiredValue,
  formatValue,
  parseDevice,
  parseDeviceModel,
  parseValue,
  type DeviceCheckOptions,
} from '../../../../src/contract/resources/device.js';
import { isValidationError, type FieldIssue } from '../../../../src/core/errors.js';

// Written in the style of KubeEdge's v1beta1 samples (Modbus model + device with push method).
const MODEL_YAML = `
apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata:
  name: boiler-model
  namespace: default
spec:
  protocol: modbus
  properties:
    - name: temperature
      description: water temperature
      type: INT
      accessMode: ReadWrite
      maximum: "95"
      minimum: "10"
      unit: Celsius
    - name: pressure
      type: FLOAT
      accessMode: ReadOnly
      unit: bar
    - name: alarm
      type: BOOLEAN
      accessMode: ReadOnly
`;

const DEVICE_YAML = `
apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata:
  name: boiler-01
  labels:
    model: boiler-model
  annotations:
    site: basement
  uid: 8c1b6c2e-1111-4222-8333-944445555666
  resourceVersion: "12345"
spec:
  deviceModelRef:
    name: boiler-model
  nodeName: edge-pi-1
  protocol:
    protocolName: modbus
    configData:
      serialPort: /dev/ttyUSB0
      baudRate: 9600
      dataBits: 8
      parity: even
      stopBits: 1
      slaveID: 1
  methods:
    - name: reset
      description: clear the alarm
      propertyNames: [alarm]
  properties:
    - name: temperature
      collectCycle: 10000000000
      reportCycle: 10000000000
      reportToCloud: true
      desired:
        value: "60"
        metadata:
          type: int
      visitors:
        protocolName: modbus
        configData:
          register: HoldingRegister
          offset: 2
          limit: 1
          scale: 1
          isSwap: true
          isRegisterSwap: true
      pushMethod:
        mqtt:
          address: tcp://127.0.0.1:1883
          topic: boiler/temperature
          qos: 0
          retained: false
    - name: pressure
      visitors:
        protocolName: modbus
        configData:
          register: InputRegister
          offset: 4
          limit: 2
      pushMethod:
        dbMethod:
          influxdb2:
            influxdb2ClientConfig:
              url: http://127.0.0.1:8086
              org: acme
              bucket: plant
            influxdb2DataConfig:
              measurement: boiler
              tag:
                unit: bar
              fieldKey: pressure
status:
  twins:
    - propertyName: temperature
      reported:
        value: "58"
        metadata:
          timestamp: "1700000000000"
          type: int
`;

const externalOk: DeviceCheckOptions = { builtin: new Map(), allowExternalMappers: true };

function issuesOf(fn: () => unknown): FieldIssue[] {
  try {
    fn();
  } catch (e) {
    assert.ok(isValidationError(e), String(e));
    return e.issues;
  }
  assert.fail('expected a ValidationError');
}

test('a KubeEdge v1beta1 DeviceModel and Device validate unchanged', () => {
  const model = parseDeviceModel(parse(MODEL_YAML));
  const device = parseDevice(parse(DEVICE_YAML));
  assert.equal(model.spec.properties[0]!.maximum, '95');
  assert.equal(device.metadata.name, 'boiler-01');
  assert.equal(device.spec.properties[0]!.desired?.value, '60');
  assert.equal(device.spec.properties[0]!.visitors?.configData?.register, 'HoldingRegister');
  assert.equal((device.metadata as Record<string, unknown>).uid, '8c1b6c2e-1111-4222-8333-944445555666', 'metadata extras are kept');
  assert.deepEqual(checkDevice(device.spec, model.spec, 'default/boiler-model', externalOk), []);
});

test('refusals name the field path', () => {
  const d = parse(DEVICE_YAML) as { spec: { properties: Record<string, unknown>[] } & Record<string, unknown> };
  d.spec.properties[0]!.colour = 'red';
  d.spec.frobnicate = true;
  const paths = issuesOf(() => parseDevice(d)).map((i) => i.path);
  assert.ok(paths.includes('spec.properties[0].colour'), paths.join());
  assert.ok(paths.includes('spec.frobnicate'), paths.join());

  const m = parse(MODEL_YAML) as { spec: { properties: Record<string, unknown>[] } };
  m.spec.properties[1]!.type = 'INTEGER';
  m.spec.properties[2]!.accessMode = 'WriteOnly';
  const mi = issuesOf(() => parseDeviceModel(m));
  assert.deepEqual(mi.map((i) => i.path).sort(), ['spec.properties[1].type', 'spec.properties[2].accessMode']);

  const noRef = parse(DEVICE_YAML) as { spec: Record<string, unknown> };
  delete noRef.spec.deviceModelRef;
  assert.deepEqual(issuesOf(() => parseDevice(noRef)).map((i) => i.path), ['spec.deviceModelRef']);
  const badName = parse(DEVICE_YAML) as { metadata: Record<string, unknown> };
  badName.metadata.name = 'Boiler_01';
  assert.deepEqual(issuesOf(() => parseDevice(badName)).map((i) => i.path), ['metadata.name']);
  const wrongApi = parse(DEVICE_YAML) as Record<string, unknown>;
  wrongApi.apiVersion = 'devices.kubeedge.io/v1alpha2';
  assert.deepEqual(issuesOf(() => parseDevice(wrongApi)).map((i) => i.path), ['apiVersion']);
});

test('cross-object checks: model, properties, desired values, protocol', () => {
  const model = parseDeviceModel(parse(MODEL_YAML)).spec;
  const base = parseDevice(parse(DEVICE_YAML)).spec;
  const withDesired = (name: string, value: string) => ({
    ...base,
    properties: base.properties.map((p) => (p.name === name ? { ...p, desired: { value } } : p)),
  });
  assert.deepEqual(checkDevice(base, undefined, 'default/boiler-model', externalOk), [
    { path: 'spec.deviceModelRef.name', reason: 'DeviceModel default/boiler-model not found' },
  ]);
  const one = (spec: typeof base) => checkDevice(spec, model, 'default/boiler-model', externalOk);
  assert.match(one(withDesired('temperature', '120'))[0]!.reason, /above the maximum 95/);
  assert.equal(one(withDesired('temperature', '120'))[0]!.path, 'spec.properties[0].desired.value');
  assert.match(one(withDesired('temperature', '5'))[0]!.reason, /below the minimum 10/);
  assert.match(one(withDesired('temperature', '6O'))[0]!.reason, /not an integer/);
  assert.match(one(withDesired('pressure', '2.5'))[0]!.reason, /ReadOnly/);
  assert.equal(one(withDesired('pressure', '2.5'))[0]!.path, 'spec.properties[1].desired.value');
  const unknownProp = { ...base, properties: [...base.properties, { name: 'humidity' }] };
  assert.deepEqual(one(unknownProp).map((i) => i.path), ['spec.properties[2].name']);
  const badFilter = { ...base, properties: [{ ...base.properties[0]!, reportFilter: { mode: 'deadband' as const, minIntervalMs: 0 } }] };
  assert.deepEqual(one(badFilter).map((i) => i.path), ['spec.properties[0].reportFilter']);
  // a protocol nobody serves
  const strict: DeviceCheckOptions = { builtin: new Map(), allowExternalMappers: false };
  assert.deepEqual(checkDevice(base, model, 'm', strict).map((i) => i.path), ['spec.protocol.protocolName']);
  // a built-in driver's own validation, prefixed to the Device
  const builtin: DeviceCheckOptions = {
    builtin: new Map([['modbus', () => [{ path: 'protocol.configData.baudRate', reason: 'unsupported rate' }]]]),
    allowExternalMappers: false,
  };
  assert.deepEqual(checkDevice(base, model, 'm', builtin), [{ path: 'spec.protocol.configData.baudRate', reason: 'unsupported rate' }]);
});

test('values: parse and format per model type', () => {
  assert.deepEqual(parseValue('INT', '-42'), { ok: true, value: -42 });
  assert.equal(parseValue('INT', '4.2').ok, false);
  assert.deepEqual(parseValue('DOUBLE', '1e3'), { ok: true, value: 1000 });
  assert.equal(parseValue('FLOAT', 'NaN').ok, false);
  assert.deepEqual(parseValue('BOOLEAN', 'true'), { ok: true, value: true });
  assert.equal(parseValue('BOOLEAN', 'TRUE').ok, false);
  const b = parseValue('BYTES', '0aff');
  assert.ok(b.ok && Buffer.isBuffer(b.value) && b.value.equals(Buffer.from([10, 255])));
  assert.equal(formatValue('BYTES', Buffer.from([1, 2])), '0102');
  assert.equal(formatValue('INT', 3.7), '4');
  assert.equal(formatValue('BOOLEAN', 1), 'true');
  assert.equal(formatValue('FLOAT', 21.5), '21.5');
  assert.equal(checkDesiredValue({ name: 'x', type: 'STRING', accessMode: 'ReadWrite' }, 'anything'), undefined);
});
