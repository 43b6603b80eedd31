/**
 * The relay sync suite, run once against the embedded broker (sync-embedded.test.ts) and once
 * against an external mosquitto with the generated password and ACL files (sync-mosquitto.test.ts).
 * Relay and nodes are separate processes; edged is off (pods are covered by pod.test.ts), the
 * sync is exercised with ConfigMaps, Devices on the virtual driver, and outbox telemetry.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import mqtt from 'mqtt';
import type { JoinResponse } from '../../../src/contract/api.js';
import { topics } from '../../../src/contract/topics.js';
import { openNodeStore } from '../../../src/store/store.js';
import { tmpDir } from '../../helpers/tmp.js';
import { needService } from '../../helpers/service.js';
import { freePort, NodeProc, Proc, RelayProc, relayPorts, waitFor } from './harness.js';

export type Mode = 'embedded' | 'mosquitto';

const DEVICE_YAML = `
apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata: { name: thermostat }
spec:
  protocol: virtual
  properties:
    - { name: setpoint, type: INT, accessMode: ReadWrite, minimum: "0", maximum: "100" }
    - { name: temperature, type: FLOAT, accessMode: ReadOnly }
---
apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata: { name: thermo-1 }
spec:
  deviceModelRef: { name: thermostat }
  protocol: { protocolName: virtual }
  properties:
    - name: setpoint
      desired: { value: "21" }
      visitors: { protocolName: virtual, configData: { signal: echo, initial: 20 } }
      collectCycle: 200
      reportCycle: 300
      reportToCloud: true
    - name: temperature
      visitors: { protocolName: virtual, configData: { signal: randomWalk, start: 20, step: 1, seed: 3 } }
      collectCycle: 200
      reportCycle: 300
      reportToCloud: true
`;

interface World {
  dir: string;
  relay: RelayProc;
  /** SIGHUP mosquitto after joins, and wait until it accepts the joined nodes (no-op on the embedded broker) */
  reload(joined: JoinResponse[]): Promise<void>;
  /** make the cloud side unreachable for nodes (relay, and the external broker) and back */
  down(): Promise<void>;
  up(): Promise<void>;
  brokerUrl(join: { brokerUrl: string }): string;
}

async function world(t: TestContext, mode: Mode): Promise<World | undefined> {
  const dir = tmpDir(t, 'edgecore-relay-');
  const ports = await relayPorts();
  if (mode === 'embedded') {
    const relay = new RelayProc({ dir, ports });
    t.after(() => relay.stop('SIGKILL'));
    await relay.start();
    return { dir, relay, reload: async () => undefined, brokerUrl: (j) => j.brokerUrl, down: () => relay.stop(), up: () => relay.start() };
  }
  const ok = await needService(t, 'mosquitto binary', async () => {
    await new Promise<void>((resolve, reject) => {
      const p = spawn('mosquitto', ['-h']);
      p.once('error', reject);
      p.once('exit', () => resolve());
    });
  });
  if (!ok) return undefined;
  const port = await freePort();
  const passwordFile = join(dir, 'mosquitto.passwd');
  const aclFile = join(dir, 'mosquitto.acl');
  // mosquitto's TLS listener certificate comes from the relay's CA (written by the relay)
  const certFile = join(dir, 'mosquitto.crt');
  const keyFile = join(dir, 'mosquitto.key');
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      `certfile ${certFile}`,
      `keyfile ${keyFile}`,
      'allow_anonymous false',
      `password_file ${passwordFile}`,
      `acl_file ${aclFile}`,
      // the relay's session (its subscriptions and queued reports) must survive a broker restart
      'persistence true',
      `persistence_location ${dir}/`,
      'max_queued_messages 100000',
      'user root',
      'use_username_as_clientid true',
      '',
    ].join('\n'),
  );
  const url = `mqtts://127.0.0.1:${port}`;
  const relay = new RelayProc({ dir, ports, external: { url, password: 'relay-secret', passwordFile, aclFile, certFile, keyFile } });
  t.after(() => relay.stop('SIGKILL'));
  await relay.start(); // writes the password, ACL, certificate and key files
  let mosq: Proc | undefined;
  const startMosq = async (): Promise<void> => {
    const m = new Proc('mosquitto', spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] }));
    mosq = m;
    t.after(() => m.stop('SIGKILL'));
    // a TCP probe: an MQTT probe as _relay would take over (and clean) the relay's session
    await waitFor('mosquitto listening', () => new Promise<boolean>((resolve) => {
      const sock = connect(port, '127.0.0.1', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    }));
  };
  await startMosq();
  return {
    dir,
    relay,
    reload: async (joined) => {
      mosq?.child.kill('SIGHUP');
      // the reload is asynchronous: wait until the new credentials are accepted (a clean probe
      // session under the node's name; the node has not connected yet, so there is none to lose)
      for (const j of joined) {
        await waitFor(`mosquitto accepts ${j.node} after the reload`, async () => {
          const c = await mqtt.connectAsync(url, { clientId: j.username, username: j.username, password: j.password, ca: relay.caPem, clean: true, reconnectPeriod: 0, connectTimeout: 5000 });
          await c.endAsync(true);
          return true;
        });
      }
    },
    brokerUrl: () => url,
    down: async () => {
      await relay.stop();
      await mosq?.stop();
    },
    up: async () => {
      await startMosq();
      await relay.start();
    },
  };
}

async function addNode(w: World, name: string, extra: Partial<ConstructorParameters<typeof NodeProc>[0]> = {}): Promise<NodeProc> {
  const j = await w.relay.join(name);
  await w.reload([j]);
  return new NodeProc({ dir: w.dir, name, join: { ...j, brokerUrl: w.brokerUrl(j) }, ...extra });
}

async function applyText(w: World, text: string): Promise<{ code: number; out: string; err: string }> {
  const f = join(w.dir, `m-${Date.now()}-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(f, text);
  return w.relay.ctl('apply', '-f', f);
}

const cmYaml = (name: string, v: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name} }\ndata: { v: "${v}" }\n`;

export function syncSuite(mode: Mode): void {
  test(`${mode}: apply → node converges, status and Ready visible through edgectl; bad objects refused with field paths`, async (t) => {
    const w = await world(t, mode);
    if (!w) return;
    const n1 = await addNode(w, 'n1');
    t.after(() => n1.stop('SIGKILL'));
    await n1.start();

    const first = await applyText(w, DEVICE_YAML + '---\n' + cmYaml('cm-a', '1'));
    assert.equal(first.code, 0, first.err);
    assert.match(first.out, /devicemodel\/thermostat created/);
    assert.match(first.out, /device\/thermo-1 created/);
    const again = await applyText(w, DEVICE_YAML);
    assert.match(again.out, /devicemodel\/thermostat unchanged\ndevice\/thermo-1 unchanged/);

    await waitFor('ConfigMap and Device in the node store', () => n1.resources('ConfigMap').length === 1 && n1.resources('Device').length === 1);
    const dev = await waitFor('device reported online', async () => {
      const r = await w.relay.ctl('get', 'devices', 'thermo-1', '-o', 'json');
      const o = JSON.parse(r.out) as { status?: { state?: string } };
      return o.status?.state === 'online' ? o : undefined;
    });
    assert.ok(dev);
    const nodes = await waitFor('node Ready', async () => {
      const r = await w.relay.ctl('get', 'nodes');
      return /^n1\s+Ready\s+/m.test(r.out) ? r.out : undefined;
    });
    assert.match(nodes, /NAME\s+STATUS\s+LAST CONTACT/);
    const wide = await w.relay.ctl('get', 'devices', '-o', 'wide');
    assert.match(wide.out, /thermo-1\s+thermostat\s+n1\s+online/);

    const bad = await applyText(w, DEVICE_YAML.split('---')[1]!.replace('collectCycle: 200\n      reportCycle: 300\n      reportToCloud: true\n    - name: temperature', 'colour: red\n    - name: temperature'));
    assert.equal(bad.code, 1);
    assert.match(bad.err, /spec\.properties\[0\]\.colour: unknown field/);
    const unknownNode = await applyText(w, cmYaml('cm-b', '1').replace('metadata: { name: cm-b }', 'metadata: { name: cm-b, namespace: Bad_NS }'));
    assert.equal(unknownNode.code, 1);
    assert.match(unknownNode.err, /metadata\.namespace/);
    assert.equal((await w.relay.ctl('get', 'cm', 'cm-b')).code, 1, 'refused object was not stored');
  });

  test(`${mode}: offline autonomy, convergence after reconnect, offline reports all arrive once and in order`, async (t) => {
    const w = await world(t, mode);
    if (!w) return;
    const n1 = await addNode(w, 'n1');
    t.after(() => n1.stop('SIGKILL'));
    await n1.start();
    assert.equal((await applyText(w, DEVICE_YAML + '---\n' + cmYaml('keep', '1') + '---\n' + cmYaml('change', 'old') + '---\n' + cmYaml('gone', '1'))).code, 0);
    await waitFor('all objects on the node', () => n1.resources('ConfigMap').length === 3 && n1.resources('Device').length === 1);
    const deviceBefore = n1.resources('Device')[0]!;
    const keepBefore = n1.resources('ConfigMap').find((r) => r.name === 'keep')!;

    // the node goes away; objects change meanwhile
    await n1.stop();
    assert.equal((await applyText(w, cmYaml('change', 'new') + '---\n' + cmYaml('added', '1'))).code, 0);
    assert.equal((await w.relay.ctl('delete', 'configmap', 'gone')).code, 0);
    const wanted = await w.relay.http<{ desiredVersion: number }>('GET', '/edge/v1/nodes/n1');

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
    await waitFor('node converged to the current desired set', () => n1.appliedVersion() === wanted.desiredVersion, 60_000);
    assert.deepEqual(n1.resources('ConfigMap').map((r) => r.name), ['added', 'change', 'keep']);
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
    for (let k = 1; k < all.length; k++) assert.ok(all[k]!.seq > all[k - 1]!.seq, 'outbox sequence strictly increasing at the relay');
    await waitFor('node Ready again', async () => (await w.relay.http<{ status: string }>('GET', '/edge/v1/nodes/n1')).status === 'Ready');
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
    const atKill = await waitFor('flush under way', () => { const n = n1.outboxRows(); return n < N ? { n } : undefined; }, 60_000, 5);
    await n1.stop('SIGKILL');
    const left = n1.outboxRows();
    assert.ok(left > 0, `the kill happened mid-flush (the outbox had ${atKill.n} of ${N} left when the kill went out, ${left} after)`);
    await n1.start();
    const rows = await waitFor('everything delivered', async () => {
      const r = (await w.relay.telemetry('n1')).filter((x) => x.data.i !== undefined);
      return r.length >= N && n1.outboxRows() === 0 ? r : undefined;
    }, 60_000, 200);
    assert.equal(rows.length, N, 'no duplicates');
    assert.deepEqual(rows.map((r) => r.data.i), [...Array(N).keys()], 'in order, none missing');
  });

  test(`${mode}: a node's credentials reach only its own topics`, async (t) => {
    const w = await world(t, mode);
    if (!w) return;
    const ja = await w.relay.join('node-a');
    const jb = await w.relay.join('node-b');
    await w.reload([ja, jb]);
    const url = w.brokerUrl(ja);
    assert.match(url, /^mqtts:\/\//, 'nodes are handed a TLS URL');
    const ca = w.relay.caPem;
    // wrong password, and a's password for b's name, are refused
    await assert.rejects(mqtt.connectAsync(url, { clientId: 'node-b', username: 'node-b', password: ja.password, ca, reconnectPeriod: 0, connectTimeout: 3000 }));
    // b has a retained desired document, and publishes a report
    const b = await mqtt.connectAsync(url, { clientId: 'node-b', username: 'node-b', password: jb.password, ca, reconnectPeriod: 0 });
    t.after(() => b.endAsync(true));
    const a = await mqtt.connectAsync(url, { clientId: 'node-a', username: 'node-a', password: ja.password, ca, reconnectPeriod: 0 });
    t.after(() => a.endAsync(true));
    const seen: string[] = [];
    a.on('message', (topic) => seen.push(topic));
    await a.subscribeAsync([`edgecore/v1/nodes/node-b/#`, 'edgecore/v1/nodes/+/desired', '#'], { qos: 1 }).catch(() => undefined);
    await a.subscribeAsync(topics.desired('node-a'), { qos: 1 });
    // own retained document arrives (positive control) ...
    await waitFor('node-a gets its own desired document', () => seen.includes(topics.desired('node-a')));
    // ... then traffic for b, then a marker for a (ordered by the broker): b's must not have reached a
    await b.publishAsync(topics.reportedState('node-b'), JSON.stringify({ kind: 'Node', namespace: '', name: 'node-b', status: { appliedVersion: 1 }, desiredVersion: 1, timestamp: Date.now() }), { qos: 1 });
    assert.equal((await applyText(w, cmYaml('fleet-wide', '1'))).code, 0); // new desired docs for both
    await waitFor('node-a gets the change', () => seen.filter((s) => s === topics.desired('node-a')).length >= 2);
    assert.deepEqual([...new Set(seen)], [topics.desired('node-a')], 'node-a saw nothing of node-b');
    // a publishing into b's subtree is dropped (or disconnects a): the relay never records it
    // (mosquitto acknowledges and drops it; the embedded broker closes the connection of a client
    // that publishes outside its subtree, so the PUBACK never comes: wait for whichever happens)
    await new Promise<void>((resolve) => {
      a.once('close', () => resolve());
      a.publish(topics.reportedState('node-b'), JSON.stringify({ kind: 'ConfigMap', namespace: 'default', name: 'fleet-wide', status: { forged: true }, desiredVersion: 99, timestamp: Date.now() }), { qos: 1 }, () => resolve());
    });
    const a2 = a.connected ? a : await mqtt.connectAsync(url, { clientId: 'node-a', username: 'node-a', password: ja.password, ca, reconnectPeriod: 0 });
    await a2.publishAsync(topics.reportedState('node-a'), JSON.stringify({ kind: 'ConfigMap', namespace: 'default', name: 'fleet-wide', status: { marker: true }, desiredVersion: 3, timestamp: Date.now() }), { qos: 1 });
    const view = await waitFor('marker from node-a recorded', async () => {
      const o = await w.relay.http<{ reported: { node: string; status: Record<string, unknown> }[] }>('GET', '/edge/v1/objects/ConfigMap/default/fleet-wide');
      return o.reported.some((r) => r.node === 'node-a') ? o : undefined;
    });
    assert.ok(!view.reported.some((r) => r.status.forged), 'forged report into node-b was not accepted');
    if (a2 !== a) await a2.endAsync(true);
    await a.endAsync(true).catch(() => undefined);
  });
}
