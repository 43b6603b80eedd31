/**
 * DeviceModel and Device at the API: upstream KubeEdge YAML (an empty `configData:` included) is
 * accepted; a Device is checked against its DeviceModel at apply time; status twins as KubeEdge
 * writes them; tables.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import type { KubeObject } from '../../../../src/contract/kube/types.js';
import { isValidationError, type FieldIssue, type ValidationError } from '../../../../src/core/errors.js';
import { toStatus, type TwinDoc } from '../../../../src/modules/devicetwin/twin.js';
import { DEVICE_COLUMNS, DEVICE_MODEL_COLUMNS, deviceDef, deviceModelDef, deviceModelRow, deviceRow } from '../../../../src/relay/kinds/device.js';
import { deviceStatusFromReport } from '../../../../src/relay/kinds/device-status.js';
import type { KindContext } from '../../../../src/relay/kinds/types.js';
import type { ObjectKey } from '../../../../src/relay/store/objects.js';

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const NOW = new Date('2026-01-01T01:00:00Z');

// The shape of kubeedge/examples new-counter-demo/crds (v1beta1): the instance's protocol has a
// `configData:` key holding only a comment, which YAML reads as null.
const UPSTREAM_MODEL = `
apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata:
 name: counter-model
 namespace: default
spec:
  protocol: "virtualProtocol"
  properties:
   - name: status
     description: counter status
     type: STRING
     accessMode: ReadWrite
   - name: count
     description: counter count
     type: STRING
     accessMode: ReadWrite
`;
const UPSTREAM_DEVICE = `
apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata:
  name: counter-instance
  namespace: default
spec:
  deviceModelRef:
    name: counter-model
  nodeName: "kind-worker"
  protocol:
    protocolName: virtualProtocol
    configData:
      # ip: "172.18.0.3"

  properties:
    - name: status
      visitors:
        configData:
          name: status
      collectCycle: 10000
      reportCycle: 10000
      reportToCloud: true
    - name: count
      visitors:
        configData:
          name: count
      collectCycle: 1000
      reportCycle: 10000
      reportToCloud: true
  methods:
    - name: UpdateStatus
      description: update the counter status
      propertyNames:
        - status
`;

const THERMOSTAT = {
  apiVersion: 'devices.kubeedge.io/v1beta1',
  kind: 'DeviceModel',
  metadata: { name: 'thermostat', namespace: 'default' },
  spec: {
    protocol: 'virtual',
    properties: [
      { name: 'setpoint', type: 'INT', accessMode: 'ReadWrite', minimum: '0', maximum: '100' },
      { name: 'temperature', type: 'FLOAT', accessMode: 'ReadOnly' },
      { name: 'enabled', type: 'BOOLEAN', accessMode: 'ReadWrite' },
    ],
  },
};
const thermo = (properties: unknown[], extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'devices.kubeedge.io/v1beta1',
  kind: 'Device',
  metadata: { name: 'thermo-1', namespace: 'default' },
  spec: { deviceModelRef: { name: 'thermostat' }, nodeName: 'pi-1', protocol: { protocolName: 'virtual' }, properties, ...extra },
});

/** A store with some DeviceModels, recording what validation read. */
function store(...models: unknown[]): KindContext & { reads: ObjectKey[] } {
  const reads: ObjectKey[] = [];
  return {
    reads,
    now: () => NOW,
    get: async (key) => {
      reads.push(key);
      const m = models.map((x) => x as KubeObject).find((x) => x.metadata.name === key.name && key.resource === 'devicemodels' && key.namespace === (x.metadata.namespace ?? 'default'));
      return m ? clone(m) : undefined;
    },
  };
}

async function create(def: typeof deviceDef, obj: KubeObject, ctx: KindContext): Promise<{ obj: KubeObject; issues: FieldIssue[] }> {
  const o = clone(obj);
  def.prepareForCreate?.(o);
  def.defaults?.(o);
  return { obj: o, issues: await def.validate(o, undefined, ctx) };
}

test('the upstream example applies unchanged: an empty configData is absent, as Kubernetes prunes nulls', async () => {
  const model = parse(UPSTREAM_MODEL) as KubeObject;
  const device = parse(UPSTREAM_DEVICE) as KubeObject;
  assert.equal((device.spec as { protocol: { configData: unknown } }).protocol.configData, null);
  const m = await create(deviceModelDef, model, store());
  assert.deepEqual(m.issues, []);
  const ctx = store(m.obj);
  const d = await create(deviceDef, device, ctx);
  assert.deepEqual(d.issues, []);
  assert.deepEqual((d.obj.spec as { protocol: unknown }).protocol, { protocolName: 'virtualProtocol' });
  assert.deepEqual(ctx.reads, [{ group: 'devices.kubeedge.io', resource: 'devicemodels', namespace: 'default', name: 'counter-model' }]);
  // nulls written inside a free map stay as written (the driver or mapper reads them)
  const inside = await create(deviceDef, thermo([{ name: 'setpoint', desired: { value: '21' }, visitors: { configData: { register: null } } }]), store(THERMOSTAT));
  assert.deepEqual(inside.issues, []);
  assert.deepEqual((inside.obj.spec as { properties: { visitors: unknown }[] }).properties[0]!.visitors, { configData: { register: null } });
});

test('a Device is checked against its DeviceModel at apply time, each problem named by its path', async () => {
  const ctx = store(
    THERMOSTAT,
    { ...THERMOSTAT, metadata: { name: 'broken', namespace: 'default' }, spec: { properties: [{ name: 'x', type: 'COLOUR' }] } },
    { ...THERMOSTAT, metadata: { name: 'bare', namespace: 'default' }, spec: { properties: [] } },
  );
  const cases: [KubeObject, string, RegExp][] = [
    [thermo([{ name: 'setpoint', desired: { value: 'warm' } }]), 'spec.properties[0].desired.value', /not an integer/],
    [thermo([{ name: 'setpoint', desired: { value: '150' } }]), 'spec.properties[0].desired.value', /above the maximum 100/],
    [thermo([{ name: 'setpoint', desired: { value: '-1' } }]), 'spec.properties[0].desired.value', /below the minimum 0/],
    [thermo([{ name: 'enabled', desired: { value: 'yes' } }]), 'spec.properties[0].desired.value', /not true or false/],
    [thermo([{ name: 'temperature', desired: { value: '20' } }]), 'spec.properties[0].desired.value', /ReadOnly/],
    [thermo([{ name: 'setpoint' }, { name: 'humidity' }]), 'spec.properties[1].name', /has no property humidity/],
    [thermo([{ name: 'setpoint' }, { name: 'setpoint' }]), 'spec.properties[1].name', /listed twice/],
    [thermo([], { deviceModelRef: { name: 'nope' } }), 'spec.deviceModelRef.name', /DeviceModel nope not found/],
    [thermo([], { deviceModelRef: { name: 'broken' } }), 'spec.deviceModelRef.name', /DeviceModel broken is invalid/],
    [thermo([], { nodeName: 'Pi_1' }), 'spec.nodeName', /DNS label/],
    [thermo([], { protocol: {}, deviceModelRef: { name: 'bare' } }), 'spec.protocol.protocolName', /no protocol/],
    [thermo([{ name: 'setpoint', reportFilter: { mode: 'deadband' } }]), 'spec.properties[0].reportFilter', /absolute or percent/],
    [thermo([{ name: 'setpoint', desired: { value: '1', unit: 'C' } }]), 'spec.properties[0].desired.unit', /unknown field/],
    [thermo([], { nodeSelector: {} }), 'spec.nodeSelector', /unknown field/],
  ];
  for (const [obj, path, reason] of cases) {
    const { issues } = await create(deviceDef, obj, ctx);
    const hit = issues.find((i) => i.path === path);
    assert.ok(hit, `${path}: got ${JSON.stringify(issues)}`);
    assert.match(hit.reason, reason, path);
  }
  const shape = await create(deviceDef, { ...thermo([]), data: {} }, ctx);
  assert.deepEqual(shape.issues, [{ path: 'data', reason: 'unknown field' }]);
  const noSpec = await create(deviceDef, { apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'Device', metadata: { name: 'd' } }, ctx);
  assert.deepEqual(noSpec.issues, [{ path: 'spec', reason: 'Required value' }]);
  const fine = await create(deviceDef, thermo([{ name: 'setpoint', desired: { value: '21' } }, { name: 'temperature' }, { name: 'enabled', desired: { value: 'true' } }]), ctx);
  assert.deepEqual(fine.issues, []);
});

test('updates: the model check runs again only when the spec changes; status writes name only known properties', async () => {
  const ctx = store(THERMOSTAT);
  const { obj: old } = await create(deviceDef, thermo([{ name: 'setpoint', desired: { value: '21' } }, { name: 'temperature' }]), ctx);
  const gone = store(); // the model was deleted since
  const relabel = clone(old);
  relabel.metadata.labels = { room: 'a' };
  assert.deepEqual(await deviceDef.validate(relabel, old, gone), []);
  assert.equal(gone.reads.length, 0);
  const edit = clone(old);
  (edit.spec as { properties: { desired?: { value: string } }[] }).properties[0]!.desired = { value: '101' };
  assert.deepEqual((await deviceDef.validate(edit, old, ctx)).map((i) => i.path), ['spec.properties[0].desired.value']);

  const withStatus = (status: unknown) => deviceDef.validate({ ...clone(old), status }, old, gone);
  const twin = (propertyName: string, value: string) => ({ propertyName, reported: { value, metadata: { timestamp: '1767229200000', type: 'int' } }, observedDesired: { value: '21', metadata: { timestamp: '1767229200000', type: 'int' } } });
  assert.deepEqual(await withStatus({ state: 'online', lastOnlineTime: '2026-01-01T00:59:00Z', twins: [twin('setpoint', '21')] }), []);
  assert.deepEqual((await withStatus({ twins: [twin('ghost', '1')] })).map((i) => `${i.path}: ${i.reason}`), ['status.twins[0].propertyName: the device has no property ghost']);
  assert.deepEqual((await withStatus({ state: 'on fire' })).map((i) => `${i.path}: ${i.reason}`), ['status.state: must be one of online, offline, ok, unknown, unhealthy']);
  assert.deepEqual(await withStatus({ state: 'OK' }), []);
  assert.deepEqual((await withStatus({ twins: [{ propertyName: 'setpoint', reported: { value: 21 } }] })).map((i) => i.path), ['status.twins[0].reported.value']);
  // status sent on create is dropped (status subresource)
  const created = await create(deviceDef, { ...thermo([{ name: 'setpoint' }]), status: { twins: [twin('ghost', '1')] } }, ctx);
  assert.deepEqual([created.issues, 'status' in created.obj], [[], false]);
});

test("the node's devicetwin status is reduced to KubeEdge's shape; garbage is refused with its path", () => {
  const doc: TwinDoc = {
    state: 'online',
    lastOnlineTime: '2026-01-01T00:59:00Z',
    errorCount: 2,
    consecutiveErrors: 0,
    twins: {
      setpoint: { type: 'int', optional: false, expected: { value: '25', timestamp: 1767229100000 }, actual: { value: '21', timestamp: 1767229200000 }, expectedVersion: { cloud: 2, edge: 0 }, actualVersion: { cloud: 0, edge: 7 }, specDesired: '25' },
      temperature: { type: 'float', optional: false, actual: { value: '20.5', timestamp: 1767229200000 }, expectedVersion: { cloud: 0, edge: 0 }, actualVersion: { cloud: 0, edge: 9 } },
    },
  };
  assert.deepEqual(deviceStatusFromReport(JSON.parse(JSON.stringify(toStatus(doc)))), {
    state: 'online',
    lastOnlineTime: '2026-01-01T00:59:00Z',
    errorCount: 2,
    consecutiveErrors: 0,
    twins: [
      { propertyName: 'setpoint', reported: { value: '21', metadata: { timestamp: '1767229200000', type: 'int' } }, observedDesired: { value: '25', metadata: { timestamp: '1767229100000', type: 'int' } } },
      { propertyName: 'temperature', reported: { value: '20.5', metadata: { timestamp: '1767229200000', type: 'float' } } },
    ],
  });
  const refused = (report: unknown) => {
    try {
      deviceStatusFromReport(report);
    } catch (e) {
      assert.ok(isValidationError(e));
      return (e as ValidationError).issues.map((i) => i.path);
    }
    return [];
  };
  assert.deepEqual(refused({ state: 'online', twins: [{ propertyName: 'a', reported: { value: { nested: true } } }] }), ['status.twins[0].reported.value']);
  assert.deepEqual(refused({ state: 'online', twins: [{ propertyName: '', reported: { value: '1' } }] }), ['status.twins[0].propertyName']);
  assert.deepEqual(refused({ state: 'online', twins: [{ propertyName: 'a', reported: { value: 'x'.repeat(70_000) } }] }), ['status.twins[0].reported.value']);
  assert.deepEqual(refused('online'), ['status']);
});

test('DeviceModel rules: the node schema, unique property names, numeric bounds that make sense', async () => {
  const model = (properties: unknown[]) => ({ ...THERMOSTAT, spec: { protocol: 'virtual', properties } });
  const cases: [unknown[], string, RegExp][] = [
    [[{ name: 'a', type: 'COLOUR' }], 'spec.properties[0].type', /INT/],
    [[{ name: 'a', type: 'INT', accessMode: 'WriteOnly' }], 'spec.properties[0].accessMode', /ReadWrite/],
    [[{ name: 'a', type: 'INT' }, { name: 'a', type: 'FLOAT' }], 'spec.properties[1].name', /listed twice/],
    [[{ name: 'a', type: 'INT', minimum: '10', maximum: '5' }], 'spec.properties[0].minimum', /above the maximum 5/],
    [[{ name: 'a', type: 'FLOAT', maximum: 'hot' }], 'spec.properties[0].maximum', /not a number/],
  ];
  for (const [properties, path, reason] of cases) {
    const { issues } = await create(deviceModelDef, model(properties) as KubeObject, store());
    const hit = issues.find((i) => i.path === path);
    assert.ok(hit, `${path}: got ${JSON.stringify(issues)}`);
    assert.match(hit.reason, reason, path);
  }
  // bounds on a STRING property are not numbers and are left alone; lower-case types are KubeEdge's too
  assert.deepEqual((await create(deviceModelDef, model([{ name: 's', type: 'string', minimum: 'a' }]) as KubeObject, store())).issues, []);
});

test('tables: devices with model, node, state and twin values; models with protocol and properties', () => {
  assert.deepEqual(
    DEVICE_COLUMNS.map((c) => `${c.name.toUpperCase()}:${c.priority}`),
    ['NAME:0', 'MODEL:0', 'NODE:0', 'STATE:0', 'AGE:0', 'PROTOCOL:1', 'TWINS:1'],
  );
  assert.deepEqual(DEVICE_MODEL_COLUMNS.map((c) => c.name.toUpperCase()), ['NAME', 'PROTOCOL', 'PROPERTIES', 'AGE']);
  const dev = {
    ...thermo([{ name: 'setpoint', desired: { value: '25' } }, { name: 'temperature' }, { name: 'enabled', desired: { value: 'true' } }, { name: 'fan' }]),
    metadata: { name: 'thermo-1', namespace: 'default', creationTimestamp: '2026-01-01T00:00:00Z' },
    status: {
      state: 'online',
      twins: [
        { propertyName: 'setpoint', reported: { value: '21' } },
        { propertyName: 'temperature', reported: { value: '20.5' } },
      ],
    },
  };
  assert.deepEqual(deviceRow(dev, NOW), ['thermo-1', 'thermostat', 'pi-1', 'online', '60m', 'virtual', 'setpoint=21->25,temperature=20.5,enabled=<none>->true']);
  (dev.status.twins as unknown[]).push({ propertyName: 'fan', reported: { value: 'off' } });
  assert.equal(deviceRow(dev, NOW)[6], 'setpoint=21->25,temperature=20.5,enabled=<none>->true + 1 more...');
  const fresh = thermo([{ name: 'setpoint', desired: { value: '' } }], { nodeName: undefined, protocol: undefined });
  assert.deepEqual(deviceRow(fresh, NOW), ['thermo-1', 'thermostat', '<none>', '<unknown>', '<unknown>', '<none>', '<none>']);
  const refused = { ...fresh, status: { state: 'unknown', invalid: [{ path: 'spec.protocol.configData.pin', reason: 'required' }] } };
  assert.equal(deviceRow(refused, NOW)[3], 'Invalid');
  const many = { ...THERMOSTAT, metadata: { name: 'thermostat', creationTimestamp: '2026-01-01T00:59:30Z' }, spec: { protocol: 'virtual', properties: [...THERMOSTAT.spec.properties, { name: 'fan', type: 'STRING' }] } };
  assert.deepEqual(deviceModelRow(many as KubeObject, NOW), ['thermostat', 'virtual', 'setpoint,temperature,enabled + 1 more...', '30s']);
  assert.deepEqual(deviceModelRow({ apiVersion: 'x', kind: 'DeviceModel', metadata: { name: 'm' }, spec: {} }, NOW), ['m', '<none>', '<none>', '<unknown>']);
});

test('definitions: group, names, no strategic merge, status subresource on Device only, field selectors', () => {
  assert.deepEqual([deviceDef.group, deviceDef.version, deviceDef.plural, deviceDef.shortNames, deviceDef.strategicMerge, deviceDef.statusSubresource, deviceDef.subresources], ['devices.kubeedge.io', 'v1beta1', 'devices', ['dev'], false, true, ['status']]);
  assert.deepEqual([deviceModelDef.plural, deviceModelDef.shortNames, deviceModelDef.strategicMerge, deviceModelDef.statusSubresource], ['devicemodels', ['dm'], false, false]);
  assert.equal(deviceDef.schemaName, 'io.kubeedge.devices.v1beta1.Device');
  assert.equal(deviceModelDef.schemaName, 'io.kubeedge.devices.v1beta1.DeviceModel');
  assert.deepEqual(deviceDef.fields!(thermo([])), { 'spec.nodeName': 'pi-1', 'spec.deviceModelRef.name': 'thermostat' });
  assert.deepEqual(deviceModelDef.fields!(THERMOSTAT as KubeObject), { 'spec.protocol': 'virtual' });
});
