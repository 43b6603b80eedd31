/**
 * The relay sync suite, run once against the embedded broker (sync-embedded.test.ts) and once
 * against an external mosquitto with the generated password and ACL files (sync-mosquitto.test.ts).
 * Relay and nodes are separate processes and everything is written with the real kubectl: the
 * Kubernetes API is the single source of truth, and each node's document is computed from it.
 * edged is off (pods are covered by pod.test.ts): a pod bound to a node is only stored there, which
 * is what takes the ConfigMaps and Secrets it reads to that node. Device values come from the
 * virtual driver; telemetry goes through the node's real outbox.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DesiredVersions } from '../../../src/contract/api.js';
import { topics } from '../../../src/contract/topics.js';
import { openNodeStore } from '../../../src/store/store.js';
import { nodeReady, waitFor } from './harness.js';
import { addNode, cmYaml, consumerYaml, deviceYaml, world, type Mode } from './world.js';
import { trustSuite } from './trust.js';

interface DeviceStatus {
  state?: string;
  twins?: { propertyName: string; reported?: { value: string }; observedDesired?: { value: string } }[];
}

const twin = (s: DeviceStatus | undefined, p: string) => s?.twins?.find((t) => t.propertyName === p);

export function syncSuite(mode: Mode): void {
  test(`${mode}: kubectl apply → the node converges; Ready, twins and desired edits through kubectl and edgectl; only referenced Secrets reach a node; bad objects refused with field paths`, async (t) => {
    const w = await world(t, mode);
    if (!w) return;
    const n1 = await addNode(w, 'n1');
    const n2 = await addNode(w, 'n2');
    t.after(() => Promise.all([n1.stop('SIGKILL'), n2.stop('SIGKILL')]));
    await Promise.all([n1.start(), n2.start()]);

    const first = w.relay.apply([deviceYaml('n1'), cmYaml('cm-a', '1'), 'apiVersion: v1\nkind: Secret\nmetadata: { name: s-n1 }\nstringData: { k: secret-for-n1 }\n', consumerYaml('consumer', 'n1', ['cm-a'], ['s-n1']), consumerYaml('other', 'n2', [])].join('---\n'));
    assert.equal(first.code, 0, first.err);
    assert.match(first.out, /devicemodel\.devices\.kubeedge\.io\/thermostat created/);
    assert.match(first.out, /device\.devices\.kubeedge\.io\/thermo-1 created/);
    assert.match(first.out, /configmap\/cm-a created/);
    const again = w.relay.apply(deviceYaml('n1'));
    assert.match(again.out, /devicemodel\.devices\.kubeedge\.io\/thermostat unchanged\ndevice\.devices\.kubeedge\.io\/thermo-1 unchanged/);

    await waitFor('ConfigMap, Secret, Pod and Device in n1', () => n1.resources('ConfigMap').length === 1 && n1.resources('Secret').length === 1 && n1.resources('Device').length === 1 && n1.resources('Pod').length === 1);
    await waitFor('n2 has its own pod', () => n2.resources('Pod').length === 1);
    assert.deepEqual(n2.resources('Secret'), [], "n1's Secret never reaches n2 (its SQLite holds none)");
    assert.deepEqual(n2.resources('ConfigMap'), [], 'nor its ConfigMap');
    assert.deepEqual(n2.resources('Device'), []);

    await waitFor('device online', () => w.relay.getJson<{ status?: DeviceStatus }>('device', 'thermo-1')?.status?.state === 'online');
    // the node's devicetwin event, in kubectl describe (the generic describer lists a custom resource's events)
    await waitFor('DeviceOnline in kubectl describe device', () => /^\s+Normal\s+DeviceOnline\s+\S+( \(x\d+ over \S+\))?\s+devicetwin\s+Device thermo-1 is online/m.test(w.relay.kubectl(['describe', 'device', 'thermo-1']).out));
    const nodes = await waitFor('n1 Ready in kubectl get nodes', () => {
      const r = w.relay.kubectl(['get', 'nodes']);
      return /^n1\s+Ready\s+edge\s+/m.test(r.out) ? r.out : undefined;
    });
    assert.match(nodes, /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION$/m);
    await waitFor('twins in kubectl get devices -o wide', () => {
      const r = w.relay.kubectl(['get', 'devices', '-o', 'wide']);
      return /thermo-1\s+thermostat\s+n1\s+online\s+.*setpoint=21/.test(r.out) && /temperature=/.test(r.out) ? r.out : undefined;
    });

    // a desired value edited with kubectl reaches the node, which acts on it and says so
    const patched = w.relay.kubectl(['patch', 'device', 'thermo-1', '--type', 'json', '-p', '[{"op":"replace","path":"/spec/properties/0/desired/value","value":"25"}]']);
    assert.equal(patched.code, 0, patched.err);
    await waitFor('setpoint 25 desired on the node', () => JSON.parse(n1.resources('Device')[0]!.spec).spec.properties[0].desired.value === '25');
    await waitFor('reported and observedDesired 25', () => {
      const s = w.relay.getJson<{ status?: DeviceStatus }>('device', 'thermo-1')?.status;
      return twin(s, 'setpoint')?.reported?.value === '25' && twin(s, 'setpoint')?.observedDesired?.value === '25';
    });
    // and the same through edgectl's one-liner (over the same API)
    const set = await w.relay.ctl('twin', 'set', 'thermo-1', 'setpoint=30');
    assert.equal(set.code, 0, set.err);
    await waitFor('edgectl twin get shows 30 reported', async () => /^setpoint\s+30\s+30\s+30$/m.test((await w.relay.ctl('twin', 'get', 'thermo-1')).out));
    const outOfRange = await w.relay.ctl('twin', 'set', 'thermo-1', 'setpoint=500');
    assert.equal(outOfRange.code, 1);
    assert.match(outOfRange.err, /spec\.properties\[0\]\.desired\.value/);

    // labels, taints and cordon on the Node
    assert.equal(w.relay.kubectl(['label', 'node', 'n1', 'zone=lab']).code, 0);
    assert.equal(w.relay.kubectl(['taint', 'nodes', 'n1', 'dedicated=cam:NoSchedule']).code, 0);
    assert.equal(w.relay.kubectl(['cordon', 'n1']).code, 0);
    const cordoned = await waitFor('cordoned', () => {
      const r = w.relay.kubectl(['get', 'nodes', 'n1', '-L', 'zone']);
      return /^n1\s+Ready,SchedulingDisabled\s+edge\s+\S+\s+\S+\s+lab$/m.test(r.out) ? r.out : undefined;
    });
    assert.ok(cordoned);
    const taints = w.relay.kubectl(['get', 'node', 'n1', '-o', 'jsonpath={range .spec.taints[*]}{.key}:{.effect} {end}']).out;
    assert.match(taints, /dedicated:NoSchedule/);
    assert.match(taints, /node\.kubernetes\.io\/unschedulable:NoSchedule/);

    // refused with the field path, and not stored
    const bad = w.relay.apply(deviceYaml('n1').split('---')[1]!.replace('collectCycle: 200\n      reportCycle: 300\n      reportToCloud: true\n    - name: temperature', 'colour: red\n    - name: temperature'));
    assert.equal(bad.code, 1);
    assert.match(bad.err, /unknown field "spec\.properties\[0\]\.colour"/);
    const badCm = w.relay.apply('apiVersion: v1\nkind: ConfigMap\nmetadata: { name: cm-b }\ndata: { "bad key!": x }\n');
    assert.equal(badCm.code, 1);
    assert.match(badCm.err, /ConfigMap "cm-b" is invalid/);
    assert.equal(w.relay.getJson('configmap', 'cm-b'), undefined, 'refused object was not stored');
  });

  test(`${mode}: offline autonomy, convergence after reconnect, offline reports all arrive once and in order`, async (t) => {
    const w = await world(t, mode);
    if (!w) return;
    const n1 = await addNode(w, 'n1');
    t.after(() => n1.stop('SIGKILL'));
    await n1.start();
    const consumer = consumerYaml('consumer', 'n1', ['keep', 'change', 'gone', 'added']);
    assert.equal(w.relay.apply([deviceYaml('n1'), cmYaml('keep', '1'), cmYaml('change', 'old'), cmYaml('gone', '1'), consumer].join('---\n')).code, 0);
    await waitFor('all objects on the node', () => n1.resources('ConfigMap').length === 3 && n1.resources('Device').length === 1);
    const deviceBefore = n1.resources('Device')[0]!;
    const keepBefore = n1.resources('ConfigMap').find((r) => r.name === 'keep')!;

    // the node goes away; objects change meanwhile
    await n1.stop();
    assert.equal(w.relay.apply(cmYaml('change', 'new') + '---\n' + cmYaml('added', '1')).code, 0);
    assert.equal(w.relay.kubectl(['delete', 'configmap', 'gone']).code, 0);

    // the relay goes away too; the node restarts offline and runs from SQLite
    await w.down();
    const rowsBefore = n1.outboxRows();
    await n1.start();
    assert.deepEqual(n1.resources('ConfigMap').map((r) => r.name), ['change', 'gone', 'keep'], 'still the old set, from SQLite');
    await waitFor('device values collected while offline', () => n1.outboxRows() > rowsBefore + 5);
    // reports produced offline (beside the device's): a numbered series through the real outbox
    const store = openNodeStore(n1.dbFile);
    for (let i = 0; i < 200; i++) {
      store.outbox.enqueueTelemetry(topics.reportedTelemetry('n1'), JSON.stringify({ kind: 'Test', namespace: '', name: 'probe', event: 'test.sample', data: { i }, desiredVersion: 0, timestamp: Date.now() }));
    }
    store.close();

    await w.up();
    await waitFor('node converged to the current objects', () => n1.resources('ConfigMap').map((r) => r.name).join() === 'added,change,keep', 60_000);
    assert.equal(JSON.parse(n1.resources('ConfigMap').find((r) => r.name === 'change')!.spec).data.v, 'new');
    const deviceAfter = n1.resources('Device')[0]!;
    assert.deepEqual([deviceAfter.uid, deviceAfter.resource_version, deviceAfter.spec], [deviceBefore.uid, deviceBefore.resource_version, deviceBefore.spec], 'unchanged Device was not rewritten');
    assert.equal(n1.resources('ConfigMap').find((r) => r.name === 'keep')!.resource_version, keepBefore.resource_version);

    let got = 0;
    const samples = await waitFor('all offline samples at the relay', async () => {
      const rows = (await w.relay.telemetry('n1')).filter((r) => r.data.i !== undefined);
      got = rows.length;
      return rows.length >= 200 ? rows : undefined;
    }).catch((e: Error) => {
      throw new Error(`${e.message} (relay has ${got}, node outbox ${n1.outboxRows()})\n${w.relay.proc?.lines.slice(-15).join('\n')}\n${n1.proc?.lines.slice(-15).join('\n')}`);
    });
    assert.deepEqual(samples.map((r) => r.data.i), [...Array(200).keys()], 'in order, none missing, none duplicated');
    const all = await w.relay.telemetry('n1');
    for (let k = 1; k < all.length; k++) {
      const [a, b] = [all[k - 1]!, all[k]!];
      // the samples of one device report (twin.samples) are rows of one message: its seq, each its own property
      if (b.seq === a.seq) assert.ok(b.data.property !== undefined && a.data.property !== undefined && b.data.property !== a.data.property, `rows sharing seq ${b.seq} are one report's samples`);
      else assert.ok(b.seq > a.seq, 'outbox sequence strictly increasing at the relay');
    }
    await waitFor('node Ready again', () => nodeReady(w.relay, 'n1') === 'True');
    const applied = w.relay.kubectl(['get', 'node', 'n1', '-o', 'jsonpath={.metadata.annotations.edgecore\\.io/applied-version}']).out;
    assert.equal(Number(applied), n1.appliedVersion(), 'the Node shows the version the node applied');
    const desired = await w.relay.http<DesiredVersions>('GET', '/edge/v1/desired');
    assert.equal(desired.nodes.n1, n1.appliedVersion(), 'GET /edge/v1/desired: the version the relay last published for n1 is the one it applied');
    assert.ok(desired.epoch.length > 0);
  });

  test(`${mode}: kill -9 of the node during the flush loses nothing and duplicates nothing`, async (t) => {
    const w = await world(t, mode);
    if (!w) return;
    const n1 = await addNode(w, 'n1', { devicetwin: false, flushBatch: 5 });
    t.after(() => n1.stop('SIGKILL'));
    await n1.start();
    await waitFor('first contact', () => n1.appliedVersion() > 0);
    await n1.stop();
    const N = 3000;
    const store = openNodeStore(n1.dbFile);
    for (let i = 0; i < N; i++) {
      store.outbox.enqueueTelemetry(topics.reportedTelemetry('n1'), JSON.stringify({ kind: 'Test', namespace: '', name: 'probe', event: 'test.sample', data: { i }, desiredVersion: 1, timestamp: Date.now() }));
    }
    store.close();
    await n1.start();
    // the first batch the broker acknowledged leaves the outbox: kill right then (a local read, no
    // round trip between seeing it and the kill, so the flush cannot finish in between; with an
    // external broker the relay may not have stored that batch yet, so the relay is not asked)
    const atKill = await waitFor(
      'flush under way',
      () => {
        const n = n1.outboxRows();
        return n < N ? { n } : undefined;
      },
      60_000,
      5,
    );
    await n1.stop('SIGKILL');
    const left = n1.outboxRows();
    assert.ok(left > 0, `the kill happened mid-flush (the outbox had ${atKill.n} of ${N} left when the kill went out, ${left} after)`);
    await n1.start();
    const rows = await waitFor(
      'everything delivered',
      async () => {
        const r = (await w.relay.telemetry('n1')).filter((x) => x.data.i !== undefined);
        return r.length >= N && n1.outboxRows() === 0 ? r : undefined;
      },
      60_000,
      200,
    );
    assert.equal(rows.length, N, 'no duplicates');
    assert.deepEqual(rows.map((r) => r.data.i), [...Array(N).keys()], 'in order, none missing');
  });

  trustSuite(mode);
}
