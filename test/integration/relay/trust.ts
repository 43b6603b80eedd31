/**
 * Trust boundaries of the node link, with real brokers and a node's real credentials (issue 18):
 * a node reaches only its own topics; it cannot write its own desired document nor publish
 * retained (but presence); it cannot write the status of a pod on another node nor make its
 * clock win; a deleted Node is refused at the broker; one node's telemetry flood neither erases
 * another node's history nor gets past its own rate limit.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import type { DesiredDocument } from '../../../src/contract/payloads.js';
import { topics } from '../../../src/contract/topics.js';
import { waitFor, type RelayProc } from './harness.js';
import { consumerYaml, world, type Mode } from './world.js';

const status = (ip: string) => ({ phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: 'True' }] });
const report = (pod: string, ip: string, timestamp = Date.now()) => JSON.stringify({ kind: 'Pod', namespace: 'default', name: pod, status: status(ip), desiredVersion: 1, timestamp });
const podIP = (relay: RelayProc, pod: string): string => relay.kubectl(['get', 'pod', pod, '-o', 'jsonpath={.status.podIP}']).out;

/**
 * What the broker holds retained for a node's `reported/state` and `desired`, read by a fresh
 * client with the node's credentials: mosquitto and aedes send a subscription's retained messages
 * in the order of its filters, so once `desired` arrived, a retained report would have too.
 */
async function retained(url: string, ca: string, node: string, password: string): Promise<{ report?: string; desired?: DesiredDocument }> {
  const c = await mqtt.connectAsync(url, { clientId: `${node}`, username: node, password, ca, reconnectPeriod: 0, clean: true });
  try {
    const out: { report?: string; desired?: DesiredDocument } = {};
    const done = new Promise<void>((resolve) =>
      c.on('message', (topic, payload, packet) => {
        if (!packet.retain) return;
        if (topic === topics.reportedState(node)) out.report = payload.toString();
        if (topic === topics.desired(node)) {
          out.desired = JSON.parse(payload.toString()) as DesiredDocument;
          resolve();
        }
      }),
    );
    await c.subscribeAsync([topics.reportedState(node), topics.desired(node)], { qos: 1 });
    await done;
    return out;
  } finally {
    await c.endAsync(true);
  }
}

export function trustSuite(mode: Mode): void {
  test(`${mode}: a node reaches only its own topics, never writes its desired document or a retained report, cannot write another node's pod status nor make its clock win`, async (t) => {
    const w = await world(t, mode);
    if (!w) return;
    const ja = await w.relay.join('node-a');
    const jb = await w.relay.join('node-b');
    await w.reload([ja, jb]);
    const url = w.brokerUrl(ja);
    assert.match(url, /^mqtts:\/\//, 'nodes are handed a TLS URL');
    assert.equal(w.relay.apply([consumerYaml('pod-a', 'node-a', []), consumerYaml('pod-b', 'node-b', [])].join('---\n')).code, 0);
    // wrong password, and a's password for b's name, are refused
    await assert.rejects(mqtt.connectAsync(url, { clientId: 'node-b', username: 'node-b', password: ja.password, ca: w.relay.caPem, reconnectPeriod: 0, connectTimeout: 3000 }));
    const b = await mqtt.connectAsync(url, { clientId: 'node-b', username: 'node-b', password: jb.password, ca: w.relay.caPem, reconnectPeriod: 0 });
    t.after(() => b.endAsync(true));
    let a: MqttClient = await mqtt.connectAsync(url, { clientId: 'node-a', username: 'node-a', password: ja.password, ca: w.relay.caPem, reconnectPeriod: 0 });
    t.after(() => a.endAsync(true));
    const seen: string[] = [];
    a.on('message', (topic) => seen.push(topic));
    await a.subscribeAsync([`edgecore/v1/nodes/node-b/#`, 'edgecore/v1/nodes/+/desired', '#'], { qos: 1 }).catch(() => undefined);
    await a.subscribeAsync(topics.desired('node-a'), { qos: 1 });
    await waitFor('node-a gets its own desired document', () => seen.includes(topics.desired('node-a')));
    // traffic for b, then a change for both: b's must not have reached a
    await b.publishAsync(topics.reportedState('node-b'), report('pod-b', '10.2.0.1'), { qos: 1 });
    assert.equal(w.relay.apply([consumerYaml('pod-a2', 'node-a', []), consumerYaml('pod-b2', 'node-b', [])].join('---\n')).code, 0);
    await waitFor('node-a gets the change', () => seen.filter((s) => s === topics.desired('node-a')).length >= 2);
    assert.deepEqual([...new Set(seen)], [topics.desired('node-a')], 'node-a saw nothing of node-b');
    await waitFor("b's own report landed", () => podIP(w.relay, 'pod-b') === '10.2.0.1');

    const reconnect = async (): Promise<MqttClient> => {
      if (a.connected) return a;
      a = await mqtt.connectAsync(url, { clientId: 'node-a', username: 'node-a', password: ja.password, ca: w.relay.caPem, reconnectPeriod: 0 });
      return a;
    };
    /**
     * A publish the broker must refuse: the embedded broker closes the connection (no PUBACK), so
     * that close is awaited; mosquitto acknowledges and drops what its ACL refuses (the PUBACK is
     * awaited), and keeps a retained report, which the relay refuses and clears.
     */
    const refused = async (topic: string, payload: string, retain: boolean): Promise<void> => {
      const c = await reconnect();
      if (mode === 'embedded') {
        const closed = new Promise<void>((r) => c.once('close', () => r()));
        c.publish(topic, payload, { qos: 1, retain }, () => undefined);
        await closed;
      } else await c.publishAsync(topic, payload, { qos: 1, retain });
    };
    const epoch = (await retained(url, w.relay.caPem, 'node-a', ja.password)).desired!.epoch;
    // into b's subtree
    await refused(topics.reportedState('node-b'), report('pod-b', '6.6.6.1'), false);
    // on its own topic, about b's pod, from the far future: the API refuses it (pod-b is not bound to a)
    await (await reconnect()).publishAsync(topics.reportedState('node-a'), report('pod-b', '6.6.6.6', Date.UTC(2099, 0, 1)), { qos: 1 });
    // its own desired document, retained, with a huge version and the relay's epoch; and an empty one (would delete the relay's)
    const forged: DesiredDocument = { node: 'node-a', epoch, version: 999_999, kinds: ['Pod'], items: [], timestamp: Date.now() };
    await refused(topics.desired('node-a'), JSON.stringify(forged), true);
    await refused(topics.desired('node-a'), '', true);
    // a retained report (it would be replayed to the relay on every reconnect)
    await refused(topics.reportedState('node-a'), report('pod-a', '6.6.6.7'), true);
    // then a marker on a's own pod: once it landed, everything a sent before was handled
    await (await reconnect()).publishAsync(topics.reportedState('node-a'), report('pod-a', '10.1.0.1'), { qos: 1 });
    await waitFor('the marker from node-a landed', () => podIP(w.relay, 'pod-a') === '10.1.0.1');
    assert.equal(podIP(w.relay, 'pod-b'), '10.2.0.1', "no forged status on b's pod");

    // b's next report, with an old timestamp, wins over nothing: the relay's order is arrival
    await b.publishAsync(topics.reportedState('node-b'), report('pod-b', '10.2.0.2', Date.UTC(2000, 0, 1)), { qos: 1 });
    await waitFor("b's later report wins whatever its timestamp", () => podIP(w.relay, 'pod-b') === '10.2.0.2');

    const held = await waitFor('the broker holds no retained report of node-a, and the relay\'s desired document', async () => {
      const r = await retained(url, w.relay.caPem, 'node-a', ja.password);
      return r.report === undefined || r.report === '' ? r : undefined;
    });
    assert.notEqual(held.desired?.version, 999_999, "the relay's document, not the forged one");
    assert.equal(held.desired?.epoch, epoch);
    if (mode === 'mosquitto') assert.ok(w.relay.proc!.lines.some((l) => l.includes('refused a retained message from a node')), 'the relay refused the retained report');
    else assert.ok(w.relay.proc!.lines.filter((l) => l.includes('"msg":"publish refused"')).length >= 4, 'the embedded broker refused each');
    assert.deepEqual(held.desired?.items.map((i) => i.name).sort(), ['pod-a', 'pod-a2']);
  });

  test(`${mode}: kubectl delete node removes its credentials: the broker refuses it`, async (t) => {
    const w = await world(t, mode);
    if (!w) return;
    const j = await w.relay.join('node-x');
    await w.reload([j]);
    const url = w.brokerUrl(j);
    const c = await mqtt.connectAsync(url, { clientId: 'node-x', username: 'node-x', password: j.password, ca: w.relay.caPem, reconnectPeriod: 0 });
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    t.after(() => c.endAsync(true));
    assert.equal(w.relay.getJson('node', 'node-x')?.kind, 'Node');
    const del = w.relay.kubectl(['delete', 'node', 'node-x']);
    assert.equal(del.code, 0, del.err);
    assert.match(del.out, /node "node-x" deleted/);
    if (mode === 'embedded') await closed; // its live session is closed
    await waitFor('credentials gone from the broker', async () => {
      await w.reload();
      try {
        const again = await mqtt.connectAsync(url, { clientId: 'node-x', username: 'node-x', password: j.password, ca: w.relay.caPem, reconnectPeriod: 0, connectTimeout: 3000 });
        await again.endAsync(true);
        return false;
      } catch {
        return true;
      }
    });
    assert.equal(w.relay.kubectl(['get', 'node', 'node-x']).code, 1);
  });

  test(`${mode}: telemetry is kept and limited per node: one node's flood neither erases another's history nor gets past its rate`, async (t) => {
    const w = await world(t, mode, { telemetryKeep: 100, telemetryBurst: 150, telemetryRatePerSecond: 1 });
    if (!w) return;
    const ja = await w.relay.join('loud');
    const jb = await w.relay.join('quiet');
    await w.reload([ja, jb]);
    assert.equal(w.relay.apply([consumerYaml('loud-pod', 'loud', []), consumerYaml('quiet-pod', 'quiet', [])].join('---\n')).code, 0);
    const url = w.brokerUrl(ja);
    const loud = await mqtt.connectAsync(url, { clientId: 'loud', username: 'loud', password: ja.password, ca: w.relay.caPem, reconnectPeriod: 0 });
    const quiet = await mqtt.connectAsync(url, { clientId: 'quiet', username: 'quiet', password: jb.password, ca: w.relay.caPem, reconnectPeriod: 0 });
    t.after(() => Promise.all([loud.endAsync(true), quiet.endAsync(true)]));
    const sample = (i: number, seq: number) => JSON.stringify({ kind: 'Device', namespace: 'default', name: 'd', event: 'twin.reported', data: { i }, desiredVersion: 1, timestamp: Date.now(), seq, stream: 's' });
    for (let i = 0; i < 40; i++) await quiet.publishAsync(topics.reportedTelemetry('quiet'), sample(i, i + 1), { qos: 1 });
    await waitFor("quiet's 40 samples kept", async () => (await w.relay.telemetry('quiet')).length === 40);
    const floodStart = Date.now();
    for (let i = 0; i < 1000; i++) await loud.publishAsync(topics.reportedTelemetry('loud'), sample(i, i + 1), { qos: 1 });
    // a report after the flood: once it landed, the whole flood was handled
    await loud.publishAsync(topics.reportedState('loud'), report('loud-pod', '10.9.0.1'), { qos: 1 });
    await waitFor('the flood was handled', () => podIP(w.relay, 'loud-pod') === '10.9.0.1');
    const q = await w.relay.telemetry('quiet');
    assert.deepEqual(q.map((r) => r.data.i), [...Array(40).keys()], "the quiet node's history is whole");
    const l = await w.relay.telemetry('loud');
    assert.ok(l.length <= 110, `the loud node keeps about its newest 100 (${l.length})`);
    // past its burst (150) the bucket refills at 1/s: only as many later samples as seconds passed
    const refills = Math.ceil((Date.now() - floodStart) / 1000) + 1;
    const late = l.filter((r) => (r.data.i ?? 0) >= 150).length;
    assert.ok(late <= refills, `past its burst (150) the loud node's samples were dropped: ${late} kept after it, at most ${refills} allowed by 1/s`);
    assert.ok(w.relay.proc!.lines.some((x) => x.includes('telemetry over the node rate limit')));
  });
}
