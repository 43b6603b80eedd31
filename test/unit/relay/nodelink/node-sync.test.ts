/** Desired documents computed from the API's objects: content, versions, republishing, restarts, Scheduled. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../../../../src/contract/kube/types.js';
import { EVENT, linkFixture, MODEL, DEVICE, NODE, pod, POD, secret, SECRET, state } from './fixture.js';

const names = (doc: { items: { kind: string; name: string }[] } | null | undefined): string[] => (doc?.items ?? []).map((i) => `${i.kind}/${i.name}`);

test('a node gets its pods and only the Secrets they reference; versions are the store revision of the change; an unrelated change publishes nothing', async (t) => {
  const f = await linkFixture(t);
  await f.join('n1');
  await f.join('n2');
  assert.deepEqual(names(f.transport.last('n1')), [], 'a joined node gets an (empty) document at once');
  await f.admin.create(SECRET, secret('s-used'));
  await f.admin.create(SECRET, secret('s-other'));
  await f.admin.create(POD, pod('web', 'n1', { volumes: [{ name: 'v', secret: { secretName: 's-used' } }], containers: [{ name: 'c', image: 'busybox:1', volumeMounts: [{ name: 'v', mountPath: '/s' }] }] }));
  await f.link.idle();
  const d1 = f.transport.last('n1')!;
  assert.deepEqual(names(d1), ['Pod/web', 'Secret/s-used']);
  assert.equal(d1.epoch, await f.store.epoch());
  assert.equal(names(f.transport.last('n2')).length, 0, 'n2 holds nothing of n1: no pod, no Secret');

  // the other Secret changes: nothing goes to n1
  const before = f.transport.docs('n1').length;
  await f.admin.update(SECRET, { ...(await f.admin.get(SECRET, 'default', 's-other')), stringData: { v: 'changed' } } as KubeObject);
  await f.link.idle();
  assert.equal(f.transport.docs('n1').length, before);

  // the used Secret changes: a new document, versioned by that write's revision
  const changed = await f.admin.update(SECRET, { ...(await f.admin.get(SECRET, 'default', 's-used')), stringData: { v: 'rotated' } } as KubeObject);
  await f.link.idle();
  const d2 = f.transport.last('n1')!;
  assert.ok(d2.version > d1.version);
  assert.ok(d2.version >= Number(changed.metadata.resourceVersion), `version ${d2.version} is at least the change's revision ${changed.metadata.resourceVersion}`);
  assert.equal(d2.version, await f.store.revision(), 'nothing else was written since');

  // a status write (what nodes report all the time) does not change the document
  const n = f.transport.docs('n1').length;
  await f.link.nodeClient('n1').patch(POD, 'default', 'web', 'merge', { status: { phase: 'Running' } }, { subresource: 'status' });
  await f.link.idle();
  assert.equal(f.transport.docs('n1').length, n);

  // the last pod that needed the Secret goes: the Secret leaves the node, in a document numbered
  // by the deletion's revision (a deleted object's last cached copy is older than that)
  await f.admin.delete(POD, 'default', 'web', { gracePeriodSeconds: 0 });
  await f.link.idle();
  assert.deepEqual(names(f.transport.last('n1')), []);
  assert.equal(f.transport.last('n1')!.version, await f.store.revision(), 'numbered by the deletion');
});

test('devices and their models go to the device node; a pod being deleted stays in the document with its deletion time', async (t) => {
  const f = await linkFixture(t);
  await f.join('n1');
  await f.admin.create(MODEL, { apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'DeviceModel', metadata: { name: 'm', namespace: 'default' }, spec: { protocol: 'virtual', properties: [{ name: 'p', type: 'INT', accessMode: 'ReadWrite' }] } });
  await f.admin.create(DEVICE, { apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'Device', metadata: { name: 'd', namespace: 'default' }, spec: { nodeName: 'n1', deviceModelRef: { name: 'm' }, protocol: { protocolName: 'virtual' }, properties: [{ name: 'p', desired: { value: '1' } }] } });
  await f.admin.create(POD, pod('p', 'n1'));
  await f.link.idle();
  assert.deepEqual(names(f.transport.last('n1')), ['Device/d', 'DeviceModel/m', 'Pod/p']);
  await f.admin.delete(POD, 'default', 'p');
  await f.link.idle();
  const item = f.transport.last('n1')!.items.find((i) => i.name === 'p')!;
  assert.ok(item.spec.metadata.deletionTimestamp, 'Terminating: still there, with its deletion time');
  assert.equal(item.spec.metadata.deletionGracePeriodSeconds, 30);
});

test('a sync request republishes the same version (not to a node that holds it); a restart starts from the current revision; a deleted Node loses its document and its credentials', async (t) => {
  const f = await linkFixture(t);
  await f.join('n1');
  await f.admin.create(POD, pod('p', 'n1'));
  await f.link.idle();
  const v = f.transport.last('n1')!.version;
  await f.send('n1', 'sync', { epoch: 'x', appliedVersion: 0, bootId: 'b', timestamp: 1 });
  assert.equal(f.transport.last('n1')!.version, v, 'republished unchanged (the node ignores it as not newer)');
  const held = f.transport.docs('n1').length;
  await f.send('n1', 'sync', { epoch: f.transport.last('n1')!.epoch, appliedVersion: v, bootId: 'b', timestamp: 2 });
  await f.link.idle();
  assert.equal(f.transport.docs('n1').length, held, 'a node that holds the current document is not sent it again');
  const count = f.transport.docs('n1').length;
  await f.admin.create(SECRET, secret('unrelated'));
  const before = await f.store.revision();
  await f.restart();
  const after = f.transport.last('n1')!;
  assert.equal(f.transport.docs('n1').length, count + 1, 'published on start');
  // the node-lifecycle controller may write n1's status (Unknown: not heard since the restart) before or after it
  assert.ok(after.version >= before && after.version <= (await f.store.revision()), `on start: the current revision (${before} ≤ ${after.version})`);
  assert.ok(after.version > v, 'versions only grow across restarts');
  assert.deepEqual(names(after), ['Pod/p']);

  await f.admin.delete(NODE, undefined, 'n1');
  await f.link.idle();
  assert.equal(f.transport.last('n1'), null, 'the retained document is cleared');
  assert.equal(f.relay.getNode('n1'), undefined, 'its credentials are gone');
  assert.deepEqual(f.transport.disconnected, [], 'the link leaves the session to its owner (relay.ts closes it)');
});

test("a node that holds a higher version (another replica's number) is sent this replica's document numbered above it; an absurd claim is not believed", async (t) => {
  const f = await linkFixture(t);
  await f.join('n1');
  await f.admin.create(POD, pod('p', 'n1'));
  await f.link.idle();
  const { epoch, version: v } = f.transport.last('n1')!;
  await f.send('n1', 'sync', { epoch, appliedVersion: v + 5, bootId: 'b', timestamp: 1 });
  await f.link.idle();
  const d = f.transport.last('n1')!;
  assert.equal(d.version, v + 6, 'numbered above what the node holds, so it applies it');
  assert.deepEqual(names(d), ['Pod/p']);
  assert.equal(f.link.nodeSync.desiredVersion('n1'), v + 6, 'and remembered: the next change goes above it too');
  await f.send('n1', 'sync', { epoch, appliedVersion: 1e12, bootId: 'b', timestamp: 2 });
  await f.link.idle();
  assert.equal(f.transport.last('n1')!.version, v + 6, 'a claim far above the store revision keeps the replica numbering');
  await f.send('n1', 'sync', { epoch: 'another-store', appliedVersion: v + 50, bootId: 'b', timestamp: 3 });
  await f.link.idle();
  assert.equal(f.transport.last('n1')!.version, v + 6, 'a version of another epoch is no reason to renumber');
});

test('a pod that arrives bound to a node gets a Scheduled event (once), as the scheduler records it', async (t) => {
  const f = await linkFixture(t);
  await f.join('n1');
  const p = await f.admin.create(POD, pod('web', 'n1'));
  await f.link.idle();
  const events = (await f.admin.list(EVENT, 'default', { fieldSelector: `involvedObject.uid=${p.metadata.uid}` })).items as (KubeObject & { reason: string; message: string; source: { component: string } })[];
  assert.deepEqual(
    events.map((e) => [e.reason, e.message, e.source.component]),
    [['Scheduled', 'Successfully assigned default/web to n1', 'default-scheduler']],
  );
  await f.restart();
  assert.equal((await f.admin.list(EVENT, 'default')).items.length, 1, 'not again after a restart');
});

test("a node's document carries its Node's labels; `kubectl label node` republishes it (the node judges node affinity against them)", async (t) => {
  const f = await linkFixture(t);
  await f.join('n1');
  await f.link.idle();
  const d0 = f.transport.last('n1')!;
  assert.equal(d0.labels?.['kubernetes.io/hostname'], 'n1');
  assert.equal(d0.labels?.mapper, undefined);
  await f.admin.patch(NODE, undefined, 'n1', 'merge', { metadata: { labels: { mapper: 'modbus' } } });
  await f.link.idle();
  const d1 = f.transport.last('n1')!;
  assert.ok(d1.version > d0.version, 'a label change is a new document');
  assert.equal(d1.labels?.mapper, 'modbus');
  assert.deepEqual(d1.items, d0.items);
  // a status write (heartbeats) changes nothing
  const n = f.transport.docs('n1').length;
  await f.link.nodeClient('n1').patch(NODE, undefined, 'n1', 'merge', { status: { conditions: [{ type: 'Ready', status: 'True' }] } }, { subresource: 'status' });
  await f.link.idle();
  assert.equal(f.transport.docs('n1').length, n);
});

test('every node gets every Service and EndpointSlice (the mesh); a change reaches all of them, a deletion leaves all', async (t) => {
  const f = await linkFixture(t);
  await f.join('n1');
  await f.join('n2');
  const SVC = { group: '', resource: 'services' };
  const SLICES = { group: 'discovery.k8s.io', resource: 'endpointslices' };
  await f.admin.create(SVC, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: 'None', selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] } } as KubeObject);
  await f.admin.create(SLICES, {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'web-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['172.17.0.2'], nodeName: 'n2', conditions: { ready: true } }],
    ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
  } as unknown as KubeObject);
  await f.link.idle();
  for (const n of ['n1', 'n2']) {
    assert.deepEqual(names(f.transport.last(n)), ['EndpointSlice/web-1', 'Service/web'], n);
    assert.ok(f.transport.last(n)!.kinds.includes('Service') && f.transport.last(n)!.kinds.includes('EndpointSlice'), 'emptied on the node when none is left');
  }
  const v1 = f.transport.last('n1')!.version;
  await f.admin.delete(SVC, 'default', 'web');
  await f.admin.delete(SLICES, 'default', 'web-1');
  await f.link.idle();
  for (const n of ['n1', 'n2']) assert.deepEqual(names(f.transport.last(n)), [], n);
  assert.ok(f.transport.last('n1')!.version > v1);
});

test("a node's mesh key, from its own report only, reaches every node's document as a peer Node; a node cannot report another's", async (t) => {
  const f = await linkFixture(t);
  await f.join('n1');
  await f.join('n2');
  await f.link.idle();
  const report = (key: string) => ({ appliedVersion: 1, epoch: 'e', agentVersion: '1', bootId: 'b', arch: 'x64', platform: 'linux', outbox: { rows: 0, dropped: 0 }, addresses: ['192.168.1.2'], mesh: { keySha256: key, port: 10550 } });
  await f.send('n2', 'reported/state', state('Node', '', 'n2', report('ab'.repeat(32))));
  await f.link.idle();
  const n2 = await f.admin.get(NODE, undefined, 'n2');
  assert.equal(n2.metadata.annotations?.['mesh.edgecore.io/key-sha256'], 'ab'.repeat(32));
  for (const n of ['n1', 'n2']) {
    const peer = f.transport.last(n)!.items.find((i) => i.kind === 'Node' && i.name === 'n2');
    assert.ok(peer, `${n} got n2 as a peer`);
    assert.equal((peer.spec as unknown as { metadata: { annotations: Record<string, string> } }).metadata.annotations['mesh.edgecore.io/key-sha256'], 'ab'.repeat(32));
    assert.ok(f.transport.last(n)!.kinds.includes('Node'));
  }
  assert.equal(f.transport.last('n1')!.items.filter((i) => i.kind === 'Node').length, 1, 'n1 published no key: it is nobody\'s peer');
  // n1 reporting a status for n2 (to put its own key there) is refused; n2's key stays
  await f.send('n1', 'reported/state', state('Node', '', 'n2', report('cd'.repeat(32))));
  await f.link.idle();
  assert.equal((await f.admin.get(NODE, undefined, 'n2')).metadata.annotations?.['mesh.edgecore.io/key-sha256'], 'ab'.repeat(32));
});

test("a Node's status write recomputes its own document only; a change of its mesh key recomputes every node's", async (t) => {
  const f = await linkFixture(t);
  const fleet = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6'];
  for (const n of fleet) await f.join(n);
  await f.link.idle();
  const computed = () => f.link.nodeSync.counters.computed;
  let c = computed();
  await f.link.nodeClient('n2').patch(NODE, undefined, 'n2', 'merge', { status: { conditions: [{ type: 'Ready', status: 'True' }] } }, { subresource: 'status' });
  await f.link.idle();
  // n2's own document (again if the lifecycle controller answers the write), not the fleet's: N per write is N² at fleet size
  assert.ok(computed() - c <= 2, `a heartbeat-like status write computed ${computed() - c} documents`);
  const report = (key: string) => ({ appliedVersion: 1, epoch: 'e', agentVersion: '1', bootId: 'b', arch: 'x64', platform: 'linux', outbox: { rows: 0, dropped: 0 }, addresses: ['192.168.1.2'], mesh: { keySha256: key, port: 10550 } });
  c = computed();
  await f.send('n2', 'reported/state', state('Node', '', 'n2', report('ab'.repeat(32))));
  await f.link.idle();
  assert.ok(computed() - c >= fleet.length, 'its key is in every document: all computed');
  for (const n of fleet) assert.ok(f.transport.last(n)!.items.some((i) => i.kind === 'Node' && i.name === 'n2'), n);
  c = computed();
  await f.send('n2', 'reported/state', state('Node', '', 'n2', report('ab'.repeat(32))));
  await f.link.idle();
  assert.ok(computed() - c <= 2, `the same key again: no fleet-wide recompute (${computed() - c})`);
});

test('a replica with its own broker sends documents only to the nodes on it; a node that arrives gets its document through its sync, one changed while it was away too', async (t) => {
  const here = new Set(['n1']);
  const f = await linkFixture(t, {}, { reaches: (n) => here.has(n) });
  await f.join('n1');
  await f.join('n2');
  const SVC = { group: '', resource: 'services' };
  const svc = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { clusterIP: 'None', ports: [{ port: 80 }] } }) as KubeObject;
  await f.admin.create(SVC, svc('a'));
  await f.link.idle();
  assert.deepEqual(names(f.transport.last('n1')), ['Service/a']);
  assert.equal(f.transport.docs('n2').length, 0, 'n2 is on another broker: nothing computed or published for it here');

  // n2 arrives: its sync (sent on every connect) brings its document, whatever number it holds
  here.add('n2');
  await f.send('n2', 'sync', { epoch: f.transport.last('n1')!.epoch, appliedVersion: f.transport.last('n1')!.version, bootId: 'b', timestamp: 1 });
  assert.deepEqual(names(f.transport.last('n2')), ['Service/a']);
  const held = f.transport.last('n2')!;
  const sent = f.transport.docs('n2').length;

  // n2 leaves; a change meanwhile is not sent; back, its sync for what it holds gets the new one
  here.delete('n2');
  await f.admin.create(SVC, svc('b'));
  await f.link.idle();
  assert.deepEqual(names(f.transport.last('n1')), ['Service/a', 'Service/b']);
  assert.equal(f.transport.docs('n2').length, sent, 'not sent while away');
  here.add('n2');
  await f.send('n2', 'sync', { epoch: held.epoch, appliedVersion: held.version, bootId: 'b', timestamp: 2 });
  assert.deepEqual(names(f.transport.last('n2')), ['Service/a', 'Service/b']);
  assert.ok(f.transport.last('n2')!.version > held.version);

  // a node on this broker that holds the current document is not sent it again; a restart sends
  // only to the nodes on it
  const n1 = f.transport.docs('n1').length;
  await f.send('n1', 'sync', { epoch: f.transport.last('n1')!.epoch, appliedVersion: f.transport.last('n1')!.version, bootId: 'b', timestamp: 3 });
  assert.equal(f.transport.docs('n1').length, n1);
  here.delete('n2');
  const n2 = f.transport.docs('n2').length;
  await f.restart();
  assert.equal(f.transport.docs('n1').length, n1 + 1, 'n1: its document again');
  assert.equal(f.transport.docs('n2').length, n2, 'n2: nothing');
});
