/** Node reports as API writes with the node's identity: bound objects only, relay order, exactly once, terminations confirmed, events aggregated. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../../../../src/contract/kube/types.js';
import { OBJECT_EVENT } from '../../../../src/contract/payloads.js';
import { INTERNAL_GROUP } from '../../../../src/relay/store/internal.js';
import { StoreUnavailableError } from '../../../../src/relay/store/objects.js';
import { DEVICE, EVENT, linkFixture, MODEL, NODE, pod, POD, state, telemetry } from './fixture.js';

const running = { phase: 'Running', podIP: '10.0.0.7', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'c', image: 'busybox:1', imageID: '', ready: true, restartCount: 0, state: { running: {} } }] };

test('a pod status from its node lands; a node cannot write a pod on another node, nor make its timestamp win; duplicates are dropped', async (t) => {
  const f = await linkFixture(t);
  await f.join('a');
  await f.join('b');
  await f.admin.create(POD, pod('on-b', 'b'));
  await f.send('b', 'reported/state', state('Pod', 'default', 'on-b', running));
  assert.equal(((await f.admin.get(POD, 'default', 'on-b')).status as { podIP: string }).podIP, '10.0.0.7');

  // node a forges a status for b's pod, far in the future: refused, nothing changes
  const rv = (await f.admin.get(POD, 'default', 'on-b')).metadata.resourceVersion;
  await f.send('a', 'reported/state', state('Pod', 'default', 'on-b', { ...running, podIP: '6.6.6.6' }, { stream: 'a-stream', timestamp: Date.UTC(2099, 0, 1) }));
  const after = await f.admin.get(POD, 'default', 'on-b');
  assert.equal((after.status as { podIP: string }).podIP, '10.0.0.7');
  assert.equal(after.metadata.resourceVersion, rv);
  assert.ok(f.link.reports.counters.refused >= 1);

  // b's own far-future report, then a later one with an older timestamp: the later one wins (arrival order)
  await f.send('b', 'reported/state', state('Pod', 'default', 'on-b', { ...running, podIP: '10.0.0.8' }, { timestamp: Date.UTC(2099, 0, 1) }));
  const later = state('Pod', 'default', 'on-b', { ...running, podIP: '10.0.0.9' }, { timestamp: Date.UTC(2000, 0, 1) });
  await f.send('b', 'reported/state', later);
  assert.equal(((await f.admin.get(POD, 'default', 'on-b')).status as { podIP: string }).podIP, '10.0.0.9');

  // the same message again (a resend after a reconnect), and an older one: both dropped
  const dups = f.link.reports.counters.duplicates;
  await f.send('b', 'reported/state', later);
  await f.send('b', 'reported/state', { ...state('Pod', 'default', 'on-b', { ...running, podIP: '10.0.0.1' }), seq: later.seq! - 1 });
  assert.equal(((await f.admin.get(POD, 'default', 'on-b')).status as { podIP: string }).podIP, '10.0.0.9');
  assert.equal(f.link.reports.counters.duplicates, dups + 2);

  // a report about an older incarnation (another uid) does not touch the new pod
  await f.send('b', 'reported/state', state('Pod', 'default', 'on-b', { ...running, podIP: '10.0.0.2' }, { uid: 'some-older-uid' }));
  assert.equal(((await f.admin.get(POD, 'default', 'on-b')).status as { podIP: string }).podIP, '10.0.0.9');
});

test('a Terminating pod is removed only when its node reports it finished; an offline node keeps it Terminating', async (t) => {
  const f = await linkFixture(t);
  await f.join('n1');
  await f.admin.create(POD, pod('web', 'n1'));
  await f.send('n1', 'reported/state', state('Pod', 'default', 'web', running));
  const r = await f.admin.delete(POD, 'default', 'web');
  assert.equal(r.gone, false);
  // the node still reports it running: it stays
  await f.send('n1', 'reported/state', state('Pod', 'default', 'web', running));
  assert.ok((await f.admin.get(POD, 'default', 'web')).metadata.deletionTimestamp);
  await f.send('n1', 'reported/state', state('Pod', 'default', 'web', { ...running, phase: 'Failed', containerStatuses: [{ ...running.containerStatuses[0], ready: false, state: { terminated: { exitCode: 137, reason: 'Error' } } }] }));
  assert.equal(await f.admin.find(POD, 'default', 'web'), undefined, 'confirmed gone by its node');
  assert.equal(f.link.reports.counters.confirmed, 1);
});

test('device status becomes status.twins (reported, observedDesired); another node cannot write it', async (t) => {
  const f = await linkFixture(t);
  await f.join('n1');
  await f.join('n2');
  await f.admin.create(MODEL, { apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'DeviceModel', metadata: { name: 'm', namespace: 'default' }, spec: { protocol: 'virtual', properties: [{ name: 'setpoint', type: 'INT', accessMode: 'ReadWrite' }] } });
  await f.admin.create(DEVICE, { apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'Device', metadata: { name: 'd', namespace: 'default' }, spec: { nodeName: 'n1', deviceModelRef: { name: 'm' }, protocol: { protocolName: 'virtual' }, properties: [{ name: 'setpoint', desired: { value: '25' } }] } });
  const report = { state: 'online', twins: [{ propertyName: 'setpoint', reported: { value: '25', metadata: { timestamp: '1', type: 'int' } }, observedDesired: { value: '25' }, version: { cloud: 3 } }] };
  await f.send('n2', 'reported/state', state('Device', 'default', 'd', { ...report, state: 'offline' }, { stream: 'n2' }));
  assert.equal((await f.admin.get(DEVICE, 'default', 'd')).status, undefined);
  await f.send('n1', 'reported/state', state('Device', 'default', 'd', report));
  assert.deepEqual((await f.admin.get(DEVICE, 'default', 'd')).status, {
    state: 'online',
    twins: [{ propertyName: 'setpoint', reported: { value: '25', metadata: { timestamp: '1', type: 'int' } }, observedDesired: { value: '25' } }],
  });
});

test("the node's own report fills its Node (nodeInfo, addresses, capacity, labels, applied version); another node's name is refused", async (t) => {
  const f = await linkFixture(t);
  await f.join('n1');
  const status = {
    appliedVersion: 12,
    epoch: 'e',
    agentVersion: '0.9.0',
    bootId: 'boot',
    arch: 'arm64',
    platform: 'linux',
    outbox: { rows: 3, dropped: 0 },
    system: { hostname: 'pi', osImage: 'Debian GNU/Linux 12 (bookworm)', kernelVersion: '6.1.0', containerRuntimeVersion: 'docker://24.0.7', addresses: ['192.168.1.20'], cpus: 4, memoryBytes: 4 * 1024 ** 3 },
  };
  await f.send('n1', 'reported/state', state('Node', '', 'n1', status));
  const n = await f.admin.get(NODE, undefined, 'n1');
  const st = n.status as { nodeInfo: Record<string, string>; addresses: unknown; capacity: Record<string, string> };
  assert.equal(st.nodeInfo.kubeletVersion, 'v0.9.0');
  assert.equal(st.nodeInfo.architecture, 'arm64');
  assert.equal(st.nodeInfo.osImage, 'Debian GNU/Linux 12 (bookworm)');
  assert.deepEqual(st.addresses, [{ type: 'InternalIP', address: '192.168.1.20' }, { type: 'Hostname', address: 'pi' }]);
  assert.deepEqual(st.capacity, { cpu: '4', memory: '4194304Ki', pods: '110' });
  assert.equal(n.metadata.labels!['kubernetes.io/arch'], 'arm64');
  assert.equal(n.metadata.annotations!['edgecore.io/applied-version'], '12');
  await f.join('n2');
  await f.send('n2', 'reported/state', state('Node', '', 'n1', { ...status, agentVersion: 'evil' }, { stream: 'n2' }));
  assert.equal(((await f.admin.get(NODE, undefined, 'n1')).status as { nodeInfo: Record<string, string> }).nodeInfo.kubeletVersion, 'v0.9.0');
});

test('events: a repeat is counted on one Event (first/last timestamps), never ahead of the relay clock; an event about another node\'s pod is refused', async (t) => {
  const f = await linkFixture(t);
  await f.join('n1');
  await f.join('n2');
  const p = await f.admin.create(POD, pod('web', 'n1'));
  const ev = { type: 'Warning', reason: 'BackOff', message: 'Back-off restarting failed container c', fieldPath: 'spec.containers{c}', component: 'kubelet' };
  const t0 = f.clock.now.getTime();
  await f.send('n1', 'reported/telemetry', telemetry('Pod', 'default', 'web', OBJECT_EVENT, ev, { timestamp: t0 - 60_000 }));
  await f.send('n1', 'reported/telemetry', telemetry('Pod', 'default', 'web', OBJECT_EVENT, ev, { timestamp: t0 + 3_600_000 }));
  await f.send('n2', 'reported/telemetry', telemetry('Pod', 'default', 'web', OBJECT_EVENT, { ...ev, reason: 'Forged' }, { stream: 'n2' }));
  const list = (await f.admin.list(EVENT, 'default', { fieldSelector: `involvedObject.uid=${p.metadata.uid},reason=BackOff` })).items as (KubeObject & Record<string, unknown>)[];
  assert.equal(list.length, 1);
  const e = list[0]!;
  assert.equal(e.count, 2);
  assert.equal(e.firstTimestamp, new Date(t0 - 60_000).toISOString().replace('.000', ''));
  assert.equal(e.lastTimestamp, new Date(t0).toISOString().replace('.000', ''), 'a future time is clamped to the relay clock');
  assert.deepEqual(e.involvedObject, { apiVersion: 'v1', kind: 'Pod', name: 'web', uid: p.metadata.uid, namespace: 'default', fieldPath: 'spec.containers{c}' });
  assert.deepEqual(e.source, { component: 'kubelet', host: 'n1' });
  assert.equal((await f.admin.list(EVENT, 'default', { fieldSelector: 'reason=Forged' })).items.length, 0);
});

test('a report the store cannot take now (its connection cut) waits and is applied later, once, in order; a refused one is not retried', async (t) => {
  const f = await linkFixture(t);
  await f.join('n1');
  const commit = f.store.commit.bind(f.store);
  let failures = 3;
  // only the reports' writes (they carry a dedup mark) fail; the link's other writers are not under test
  f.store.commit = async (ops) => {
    if (failures > 0 && ops.some((o) => o.key.group === INTERNAL_GROUP)) {
      failures--;
      throw new StoreUnavailableError(new Error('Connection terminated unexpectedly'));
    }
    return commit(ops);
  };
  const probe = (i: number) => telemetry('Node', '', 'n1', OBJECT_EVENT, { type: 'Normal', reason: 'Probe', message: `probe ${i}` });
  // three arrive together (as from the broker): the first waits for the store, the others behind it
  await Promise.all([0, 1, 2].map((i) => f.link.handle('n1', 'reported/telemetry', Buffer.from(JSON.stringify(probe(i))))));
  await f.link.idle();
  assert.equal(failures, 0);
  assert.ok(f.link.reports.counters.retried >= 3);
  const events = (await f.admin.list(EVENT, 'default', { fieldSelector: 'reason=Probe' })).items as (KubeObject & { message: string; count: number })[];
  events.sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion));
  assert.deepEqual(events.map((e) => [e.message, e.count]), [['probe 0', 1], ['probe 1', 1], ['probe 2', 1]]);
  // a verdict is final: an event about a Node that is not the sender's is refused at once
  const retried = f.link.reports.counters.retried;
  await f.send('n1', 'reported/telemetry', telemetry('Node', '', 'n2', OBJECT_EVENT, { type: 'Normal', reason: 'Probe', message: 'forged' }));
  assert.equal(f.link.reports.counters.retried, retried);
  // so is an error of the relay's own code (a report that broke it once would break it again): refused, the line goes on
  let broken = 1;
  f.store.commit = async (ops) => {
    if (broken > 0 && ops.some((o) => o.key.group === INTERNAL_GROUP)) {
      broken--;
      throw new RangeError('Maximum call stack size exceeded');
    }
    return commit(ops);
  };
  const refused = f.link.reports.counters.refused;
  await Promise.all([3, 4].map((i) => f.link.handle('n1', 'reported/telemetry', Buffer.from(JSON.stringify(probe(i))))));
  await f.link.idle();
  assert.equal(f.link.reports.counters.retried, retried);
  assert.equal(f.link.reports.counters.refused, refused + 1);
  const after = (await f.admin.list(EVENT, 'default', { fieldSelector: 'reason=Probe' })).items as (KubeObject & { message: string })[];
  assert.deepEqual(after.map((e) => e.message).sort(), ['probe 0', 'probe 1', 'probe 2', 'probe 4']);
});

test('a broker hands reports over late, after newer ones (a NATS member died): events and other objects\' states still land once; an older state of the same object does not', async (t) => {
  const f = await linkFixture(t);
  await f.join('n1');
  const web = await f.admin.create(POD, pod('web', 'n1'));
  await f.admin.create(POD, pod('db', 'n1'));
  const ev = (reason: string) => telemetry('Pod', 'default', 'web', OBJECT_EVENT, { type: 'Normal', reason, message: reason, component: 'kubelet' });
  const early = [ev('Pulled'), state('Pod', 'default', 'web', { ...running, podIP: '10.0.0.5' }), ev('Created')];
  const newer = [state('Pod', 'default', 'db', { ...running, podIP: '10.0.0.6' }), ev('Started'), state('Pod', 'default', 'web', { ...running, podIP: '10.0.0.7' })];
  const channel = (m: object) => ('event' in m ? 'reported/telemetry' : 'reported/state');
  for (const m of newer) await f.send('n1', channel(m), m);
  const dups = f.link.reports.counters.duplicates;
  // the early ones again, after the newer ones
  for (const m of early) await f.send('n1', channel(m), m);
  // the node's events (the relay's own Scheduled aside)
  const nodeEvents = async () => (await f.admin.list(EVENT, 'default', { fieldSelector: `involvedObject.uid=${web.metadata.uid},source=kubelet` })).items;
  const reasons = (await nodeEvents()).map((e) => (e as { reason?: string }).reason).sort();
  assert.deepEqual(reasons, ['Created', 'Pulled', 'Started'], 'every event once');
  assert.equal(((await f.admin.get(POD, 'default', 'web')).status as { podIP: string }).podIP, '10.0.0.7', "web's older state was not applied over its newer one");
  assert.equal(((await f.admin.get(POD, 'default', 'db')).status as { podIP: string }).podIP, '10.0.0.6');
  assert.equal(f.link.reports.counters.duplicates, dups + 1);
  // and all of them once more (a second redelivery): nothing changes
  for (const m of [...early, ...newer]) await f.send('n1', channel(m), m);
  assert.equal((await nodeEvents()).length, 3);
  assert.equal(f.link.reports.counters.duplicates, dups + 7);
});
