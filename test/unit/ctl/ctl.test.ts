import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { main } from '../../../src/cli/edgectl/main.js';
import { errorOf } from '../../../src/ctl/client.js';
import { table } from '../../../src/ctl/commands.js';
import { resolveSettings } from '../../../src/ctl/settings.js';
import { parseAssignments, twinRows, withDesired } from '../../../src/ctl/twin.js';
import { isValidationError } from '../../../src/core/errors.js';
import { tmpDir } from '../../helpers/tmp.js';

const device = {
  apiVersion: 'devices.kubeedge.io/v1beta1',
  kind: 'Device',
  metadata: { name: 'thermo-1', namespace: 'default', resourceVersion: '7' },
  spec: {
    deviceModelRef: { name: 'thermostat' },
    properties: [
      { name: 'setpoint', desired: { value: '21' }, reportToCloud: true },
      { name: 'temperature', reportToCloud: true },
    ],
  },
  status: { state: 'online', twins: [{ propertyName: 'setpoint', reported: { value: '21' }, observedDesired: { value: '21' } }, { propertyName: 'temperature', reported: { value: '20.5' } }] },
};

test('tables are aligned like kubectl', () => {
  assert.equal(table(['NAME', 'STATUS'], [['a', 'Ready'], ['longer-name', 'NotReady']]), 'NAME          STATUS\na             Ready\nlonger-name   NotReady\n');
});

test('twin rows: spec desired beside status reported and observedDesired', () => {
  assert.deepEqual(twinRows(device), [
    { property: 'setpoint', desired: '21', reported: '21', observed: '21' },
    { property: 'temperature', desired: '', reported: '20.5', observed: '' },
  ]);
});

test('twin set edits only the desired values it names; unknown properties and malformed pairs are refused by name', () => {
  const props = withDesired(device, { setpoint: '25', temperature: '3' });
  assert.deepEqual(props, [
    { name: 'setpoint', desired: { value: '25' }, reportToCloud: true },
    { name: 'temperature', desired: { value: '3' }, reportToCloud: true },
  ]);
  assert.equal(device.spec.properties[0]!.desired!.value, '21', 'the input is not changed');
  assert.throws(() => withDesired(device, { humidity: '1' }), (e: unknown) => isValidationError(e) && /no property "humidity" \(it has: setpoint, temperature\)/.test(e.issues[0]!.reason));
  assert.deepEqual(parseAssignments(['a=1', 'b=x=y']), { a: '1', b: 'x=y' });
  assert.throws(() => parseAssignments(['a']), (e: unknown) => isValidationError(e) && e.issues[0]!.path === 'a');
  assert.throws(() => parseAssignments([]), /at least one PROP=VALUE/);
});

test('errors: a Kubernetes Status and the /edge/v1 body both read with their field paths', () => {
  const s = errorOf(422, JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'Device "d" is invalid', reason: 'Invalid', code: 422, details: { causes: [{ field: 'spec.properties[0].desired.value', message: 'out of range' }] } }), '');
  assert.deepEqual([s.code, s.message, s.issues], ['Invalid', 'Device "d" is invalid', [{ path: 'spec.properties[0].desired.value', reason: 'out of range' }]]);
  const w = errorOf(401, JSON.stringify({ error: { code: 'Unauthorized', message: 'missing or wrong admin token' } }), '');
  assert.deepEqual([w.code, w.message], ['Unauthorized', 'missing or wrong admin token']);
  assert.equal(errorOf(502, 'bad gateway', 'Bad Gateway').message, 'bad gateway');
});

test('edgectl refuses unknown commands and flags (exit 2 through the CLI), pointing object commands at kubectl', async () => {
  const io = { out: () => undefined, err: () => undefined, now: () => new Date() };
  const env = { EDGECTL_SERVER: 'http://127.0.0.1:1', EDGECTL_TOKEN: 't' };
  await assert.rejects(main(['apply', '-f', 'x.yaml'], io, env), /unknown command "apply" \(use kubectl apply\)/);
  await assert.rejects(main(['twin', 'get', 'd', '--bogus-flag'], io, env), /unknown flag --bogus-flag for "edgectl twin"/);
  await assert.rejects(main(['token', 'create', '-n', 'x'], io, env), /unknown flag -n for "edgectl token"/);
  await assert.rejects(main(['twin', 'set', 'd'], io, env), /at least one PROP=VALUE/);
});

test('server and token: flags over env over config file; missing ones explained', (t) => {
  const dir = tmpDir(t);
  const f = join(dir, 'c.yaml');
  writeFileSync(f, 'server: http://file\ntoken: ftok\n');
  assert.deepEqual(resolveSettings({ configFile: f, env: {} }), { server: 'http://file', token: 'ftok', caFile: '', source: f });
  writeFileSync(f, 'server: https://file\ntoken: ftok\ncaFile: /etc/ca.crt\n');
  assert.equal(resolveSettings({ configFile: f, env: {} }).caFile, '/etc/ca.crt');
  assert.equal(resolveSettings({ configFile: f, env: { EDGECTL_CA_FILE: '/env.crt' } }).caFile, '/env.crt');
  assert.equal(resolveSettings({ configFile: f, caFile: '/flag.crt', env: { EDGECTL_CA_FILE: '/env.crt' } }).caFile, '/flag.crt');
  writeFileSync(f, 'server: http://file\ntoken: ftok\n');
  assert.equal(resolveSettings({ configFile: f, env: { EDGECTL_SERVER: 'http://env' } }).server, 'http://env');
  assert.equal(resolveSettings({ configFile: f, server: 'http://flag', env: { EDGECTL_SERVER: 'http://env' } }).server, 'http://flag');
  assert.throws(() => resolveSettings({ env: {}, home: dir, cwd: dir }), /no relay server: pass --server URL, set EDGECTL_SERVER/);
  assert.throws(() => resolveSettings({ env: { EDGECTL_SERVER: 'x' }, home: dir, cwd: dir }), /no admin token/);
  // the demo's file in the checkout, then the home file
  mkdirSync(join(dir, 'co', '.edgecore'), { recursive: true });
  writeFileSync(join(dir, 'co', '.edgecore', 'edgectl.yaml'), 'server: http://demo\ntoken: d\n');
  assert.equal(resolveSettings({ env: {}, home: dir, cwd: join(dir, 'co') }).server, 'http://demo');
  assert.throws(() => resolveSettings({ configFile: join(dir, 'none.yaml'), env: {} }), (e: Error) => e.message === `config file ${join(dir, 'none.yaml')} not found`);
  // outside the checkout: the demo's file beside the running dist/edgectl.js
  assert.equal(resolveSettings({ env: {}, home: dir, cwd: dir, script: join(dir, 'co', 'dist', 'edgectl.js') }).server, 'http://demo');
  writeFileSync(join(dir, 'typo.yaml'), 'server: http://x\ntokn: t\n');
  assert.throws(() => resolveSettings({ configFile: join(dir, 'typo.yaml'), env: {} }), /typo\.yaml is invalid: tokn: unknown field/);
});
