/**
 * edgectl as a kubectl plugin, the way a kubectl user meets it: the shipped `dist/kubectl-edge`
 * (build.mjs) on PATH, the real kubectl 1.32 finding it (`kubectl plugin list`) and running it
 * for `kubectl edge ...` against a real relay, with the credentials kubectl uses — $KUBECONFIG
 * (the harness's file: the CA as a file, the admin token), or `--kubeconfig` with a file from
 * `edgerelay kubeconfig` (the CA as data) whose context namespace kubectl itself changed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { bundlePath } from '../../helpers/bundle.js';
import { needService } from '../../helpers/service.js';
import { ROOT, tmpDir } from '../../helpers/tmp.js';
import { haveKubectl, KUBECTL, RelayProc, relayPorts } from './harness.js';

const DEVICES = '/apis/devices.kubeedge.io/v1beta1/namespaces';

test('kubectl edge: kubectl finds the plugin and runs edgectl with its kubeconfig (KUBECONFIG, --kubeconfig, --context, the context namespace)', async (t) => {
  if (!(await needService(t, 'kubectl 1.32', haveKubectl))) return;
  const dir = tmpDir(t, 'edgecore-kplugin-');
  const relay = new RelayProc({ dir, ports: await relayPorts() });
  t.after(() => relay.stop('SIGKILL'));
  await relay.start();

  // PATH: the plugin (linked, as a user links it) and node for its wrapper; nothing of edgectl's own settings
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  symlinkSync(bundlePath('kubectl-edge'), join(bin, 'kubectl-edge'));
  const path = [bin, dirname(process.execPath), '/usr/bin', '/bin'].join(':');
  const kubectl = (args: string[], env: Record<string, string> = { KUBECONFIG: relay.kubeconfig }) =>
    spawnSync(KUBECTL, args, { cwd: dir, encoding: 'utf8', timeout: 60_000, env: { PATH: path, HOME: dir, ...env } });

  const listed = kubectl(['plugin', 'list']);
  assert.equal(listed.status, 0, listed.stderr);
  assert.match(listed.stdout, new RegExp(`^${join(bin, 'kubectl-edge').replace(/[.]/g, '\\.')}$`, 'm'));

  const model = { apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'DeviceModel', metadata: { name: 'm' }, spec: { protocol: 'virtual', properties: [{ name: 'setpoint', type: 'INT', accessMode: 'ReadWrite', minimum: '0', maximum: '100' }] } };
  const device = (ns: string, name: string) => ({ apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'Device', metadata: { name, namespace: ns }, spec: { deviceModelRef: { name: 'm' }, protocol: { protocolName: 'virtual' }, properties: [{ name: 'setpoint', desired: { value: '21' } }] } });
  await relay.http('POST', `${DEVICES}/default/devicemodels`, model);
  await relay.http('POST', `${DEVICES}/default/devices`, device('default', 'd1'));

  // $KUBECONFIG: kubectl's own file carries the server, the CA (a file) and the token
  const set = kubectl(['edge', 'twin', 'set', 'd1', 'setpoint=42']);
  assert.equal(set.status, 0, set.stderr);
  assert.equal(set.stdout, 'device/d1 configured\n');
  const got = kubectl(['edge', 'twin', 'get', 'd1']);
  assert.equal(got.status, 0, got.stderr);
  assert.equal(got.stdout, 'device d1 (unknown)\nPROPERTY   DESIRED   REPORTED   OBSERVED-DESIRED\nsetpoint   42\n');
  assert.equal(kubectl(['get', 'device', 'd1', '-o', 'jsonpath={.spec.properties[0].desired.value}']).stdout, '42', 'kubectl sees what kubectl edge set');
  const tok = kubectl(['edge', 'token', 'create', '--ttl', '600']);
  assert.equal(tok.status, 0, tok.stderr);
  assert.match(tok.stdout, /^edgecore join --relay https:\/\/127\.0\.0\.1:\d+ --token ect\.\S+ --ca-hash sha256:[0-9a-f]{64}\n$/);
  const tele = kubectl(['edge', 'telemetry', '--limit', '5']);
  assert.equal(tele.status, 0, tele.stderr);
  assert.match(tele.stdout, /^TIME\s+NODE\s+OBJECT\s+EVENT\s+DATA\n/);

  // --kubeconfig: the file `edgerelay kubeconfig` prints (the CA as data); its context's
  // namespace, changed with kubectl, is where `twin get` looks (as kubectl would); -n still wins
  const made = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/edgerelay/entry.ts'), 'kubeconfig', '--config', relay.configFile], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  const file = join(dir, 'admin.kubeconfig');
  writeFileSync(file, made.stdout, { mode: 0o600 });
  assert.equal(kubectl(['config', 'set-context', '--current', '--namespace=plant', '--kubeconfig', file], {}).status, 0);
  await relay.http('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'plant' } });
  await relay.http('POST', `${DEVICES}/plant/devicemodels`, { ...model, metadata: { name: 'm', namespace: 'plant' } });
  await relay.http('POST', `${DEVICES}/plant/devices`, device('plant', 'd2'));
  const viaFlag = kubectl(['edge', '--kubeconfig', file, 'twin', 'get', 'd2'], {});
  assert.equal(viaFlag.status, 0, viaFlag.stderr);
  assert.match(viaFlag.stdout, /^device d2 \(unknown\)\n/);
  const other = kubectl(['edge', 'twin', 'get', 'd1', '--kubeconfig', file, '-n', 'default'], {});
  assert.equal(other.status, 0, other.stderr);
  assert.match(other.stdout, /^setpoint\s+42$/m);

  // mistakes are named; nothing reaches the relay
  const ctx = kubectl(['edge', 'twin', 'get', 'd1', '--context', 'nope']);
  assert.equal(ctx.status, 1);
  assert.match(ctx.stderr, /^error: kubeconfig \S+: context "nope" not found\n$/);
  const none = kubectl(['edge', 'twin', 'get', 'd1'], {});
  assert.equal(none.status, 1);
  assert.match(none.stderr, /no relay server: .*or use a kubeconfig \(--kubeconfig, KUBECONFIG\)/);
  const bogus = kubectl(['edge', 'twin', 'get', 'd1', '--bogus-flag']);
  assert.equal(bogus.status, 2);
  assert.match(bogus.stderr, /unknown flag --bogus-flag for "kubectl edge twin"/);
  const help = kubectl(['edge', '--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^ {2}kubectl edge twin set DEVICE PROP=VALUE\.\.\. \[-n NS\]/m);
});
