/**
 * edgectl as a process — what kubectl cannot do: tokens, a device's twins in one line, telemetry —
 * with results on stdout, errors on stderr and non-zero exit codes (2 for usage errors).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, tmpDir } from '../../helpers/tmp.js';
import { ADMIN, freePort, RelayProc, relayPorts } from './harness.js';

test('edgectl: tokens, twins over the Kubernetes API, telemetry; errors on stderr with non-zero exit codes; unknown flags refused', async (t) => {
  const dir = tmpDir(t, 'edgecore-ctl-');
  const relay = new RelayProc({ dir, ports: await relayPorts() });
  t.after(() => relay.stop('SIGKILL'));
  await relay.start();
  const ctl = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), join(ROOT, 'src/cli/edgectl/entry.ts'), ...args], {
      cwd: dir,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', HOME: dir, EDGECTL_SERVER: relay.api, EDGECTL_TOKEN: ADMIN, EDGECTL_CA_FILE: relay.caFile, ...env },
    });

  const tok = ctl(['token', 'create', '--ttl', '600']);
  assert.equal(tok.status, 0, tok.stderr);
  assert.match(tok.stdout, /^edgecore join --relay https:\/\/127\.0\.0\.1:\d+ --token ect\.\S+ --ca-hash sha256:[0-9a-f]{64}\n$/);
  assert.match(tok.stderr, /^expires \d{4}-/);

  // a device made through the Kubernetes API (as kubectl would)
  const model = { apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'DeviceModel', metadata: { name: 'm' }, spec: { protocol: 'virtual', properties: [{ name: 'setpoint', type: 'INT', accessMode: 'ReadWrite', minimum: '0', maximum: '100' }] } };
  const device = { apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'Device', metadata: { name: 'd1' }, spec: { deviceModelRef: { name: 'm' }, protocol: { protocolName: 'virtual' }, properties: [{ name: 'setpoint', desired: { value: '21' } }] } };
  await relay.http('POST', '/apis/devices.kubeedge.io/v1beta1/namespaces/default/devicemodels', model);
  await relay.http('POST', '/apis/devices.kubeedge.io/v1beta1/namespaces/default/devices', device);

  const set = ctl(['twin', 'set', 'd1', 'setpoint=42']);
  assert.equal(set.status, 0, set.stderr);
  assert.equal(set.stdout, 'device/d1 configured\n');
  const got = ctl(['twin', 'get', 'd1']);
  assert.equal(got.status, 0, got.stderr);
  assert.equal(got.stdout, 'device d1 (unknown)\nPROPERTY   DESIRED   REPORTED   OBSERVED-DESIRED\nsetpoint   42\n');
  assert.equal(JSON.parse(ctl(['twin', 'get', 'd1', '-o', 'json']).stdout).twins[0].desired, '42');
  const stored = await relay.http<{ spec: { properties: { desired: { value: string } }[] } }>('GET', '/apis/devices.kubeedge.io/v1beta1/namespaces/default/devices/d1');
  assert.equal(stored.spec.properties[0]!.desired.value, '42', 'the desired value is in the Device, where it reaches the node');

  const range = ctl(['twin', 'set', 'd1', 'setpoint=500']);
  assert.equal(range.status, 1);
  assert.match(range.stderr, /^error: Device\.devices\.kubeedge\.io "d1" is invalid: spec\.properties\[0\]\.desired\.value: /);
  const unknownProp = ctl(['twin', 'set', 'd1', 'humidity=1']);
  assert.equal(unknownProp.status, 1);
  assert.match(unknownProp.stderr, /no property "humidity"/);
  const missing = ctl(['twin', 'get', 'zzz']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /devices\.devices\.kubeedge\.io "zzz" not found/);

  const tele = ctl(['telemetry']);
  assert.equal(tele.status, 0, tele.stderr);
  assert.equal(tele.stdout, 'TIME   NODE   OBJECT   EVENT   DATA\n');

  const wrongToken = ctl(['twin', 'get', 'd1'], { EDGECTL_TOKEN: 'nope' });
  assert.equal(wrongToken.status, 1);
  assert.match(wrongToken.stderr, /Unauthorized/);
  assert.equal(wrongToken.stdout, '');
  const wrongTokenEdge = ctl(['token', 'create'], { EDGECTL_TOKEN: 'nope' });
  assert.equal(wrongTokenEdge.status, 1);
  assert.match(wrongTokenEdge.stderr, /Unauthorized/);

  const unreachable = ctl(['telemetry'], { EDGECTL_SERVER: `http://127.0.0.1:${await freePort()}` });
  assert.equal(unreachable.status, 1);
  assert.match(unreachable.stderr, /cannot reach the relay at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);

  // the relay is verified: without its CA (system CAs only) edgectl refuses to talk to it
  const noCa = ctl(['telemetry'], { EDGECTL_CA_FILE: '' });
  assert.equal(noCa.status, 1);
  assert.match(noCa.stderr, /cannot reach the relay at https:\/\/127\.0\.0\.1:\d+: \w*(CERT|SIGN|VERIFY)\w* \(the relay's CA: --ca-file/);

  for (const [args, why] of [
    [['twin'], /usage: twin get DEVICE/],
    [['get', 'pods'], /unknown command "get" \(use kubectl get\)/],
    [['twin', 'get', 'd1', '--bogus-flag'], /unknown flag --bogus-flag/],
    [['telemetry', '--limit', 'x'], /--limit must be a number/],
  ] as const) {
    const r = ctl([...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, why);
  }
  const noServer = ctl(['telemetry'], { EDGECTL_SERVER: '' });
  assert.equal(noServer.status, 1);
  assert.match(noServer.stderr, /no relay server/);
});
