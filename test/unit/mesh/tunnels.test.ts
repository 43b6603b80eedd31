/**
 * Tunnels through the relay, without a network: the wire shapes (a tunnel OPEN, the request),
 * the relay's decision (tunnel-plan.ts: only to a keyed peer that runs an endpoint, only to a
 * listed cloud endpoint, at most N per node), and the whole path in one process — two nodes'
 * stream servers (edgehub) with their mesh Tunnels, the relay's NodeStreams and RelayTunnels
 * between them over an in-memory link (each frame delivered on a later tick), and real TLS 1.3 +
 * HTTP/2 between the nodes' Peers and PeerServer inside the tunnel. The relay's store is a fake
 * (an in-memory get/list of the objects a test names).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { MESH_KEY_ANNOTATION, tunnelOpenSchema, type TunnelRequest } from '../../../src/contract/mesh.js';
import { decodeFrame, encodeFrame, FrameType, openRequestSchema } from '../../../src/contract/streams.js';
import { createLogger } from '../../../src/core/logger.js';
import { NodeStreamServer } from '../../../src/modules/edgehub/streams.js';
import { meshIdentity } from '../../../src/modules/mesh/identity.js';
import { PeerServer } from '../../../src/modules/mesh/peer-server.js';
import { Peers } from '../../../src/modules/mesh/peers.js';
import { Tunnels } from '../../../src/modules/mesh/tunnels.js';
import { NodeStreams } from '../../../src/relay/streams/node-streams.js';
import { planTunnel, type SliceFacts } from '../../../src/relay/streams/tunnel-plan.js';
import { RelayTunnels } from '../../../src/relay/streams/tunnels.js';
import type { KubeObject } from '../../../src/contract/kube/types.js';

const log = createLogger({ level: 'silent', format: 'json' }, 't');
const KEY = 'ab'.repeat(32);
const ID = '0123456789abcdef0123456789abcdef';

test('wire: a tunnel OPEN names exactly one of id, peer, target; pod sessions keep their pod', () => {
  assert.ok(tunnelOpenSchema.safeParse({ id: ID }).success);
  assert.ok(tunnelOpenSchema.safeParse({ id: ID, refused: 'no' }).success);
  assert.ok(tunnelOpenSchema.safeParse({ peer: 'node-b' }).success);
  assert.ok(tunnelOpenSchema.safeParse({ target: { host: '10.0.0.1', port: 80 } }).success);
  assert.equal(tunnelOpenSchema.safeParse({ id: ID, peer: 'node-b' }).success, false);
  assert.equal(tunnelOpenSchema.safeParse({}).success, false);
  assert.equal(tunnelOpenSchema.safeParse({ peer: 'node-b', refused: 'x' }).success, false, 'refused only with id');
  assert.equal(tunnelOpenSchema.safeParse({ peer: 'Node_B' }).success, false);
  const base = { window: 1024, keepaliveMs: 1000 };
  assert.ok(openRequestSchema.safeParse({ kind: 'tunnel', tunnel: { peer: 'b' }, ...base }).success);
  const noTunnel = openRequestSchema.safeParse({ kind: 'tunnel', ...base });
  assert.match(JSON.stringify(noTunnel.error?.issues), /tunnel.*required for a tunnel session/);
  assert.equal(openRequestSchema.safeParse({ kind: 'tunnel', tunnel: { peer: 'b' }, pod: { namespace: 'd', name: 'p' }, ...base }).success, false);
  assert.equal(openRequestSchema.safeParse({ kind: 'exec', command: ['sh'], ...base }).success, false, 'a pod session without its pod');
  assert.equal(openRequestSchema.safeParse({ kind: 'exec', command: ['sh'], tunnel: { peer: 'b' }, pod: { namespace: 'd', name: 'p' }, ...base }).success, false);
  // an OPEN frame with a tunnel survives the wire; one going up is refused
  const f = encodeFrame({ type: FrameType.Open, sid: ID, seq: 0, open: { kind: 'tunnel', tunnel: { id: ID }, ...base } });
  const d = decodeFrame(f, 'down');
  assert.ok(d.ok && d.frame.type === FrameType.Open && d.frame.open.tunnel?.id === ID);
  assert.equal(decodeFrame(f, 'up').ok, false);
});

const slice = (ns: string, svc: string, eps: { ip: string; node?: string }[], port = 80): SliceFacts => ({
  metadata: { namespace: ns, labels: { 'kubernetes.io/service-name': svc } },
  addressType: 'IPv4',
  endpoints: eps.map((e) => ({ addresses: [e.ip], ...(e.node ? { nodeName: e.node } : {}) })),
  ports: [{ port, protocol: 'TCP' }],
});
const keyed = { metadata: { annotations: { [MESH_KEY_ANNOTATION]: KEY } } };

test('the relay decides: a keyed peer running an endpoint, a listed cloud endpoint, at most N per node', () => {
  const slices = [slice('default', 'web', [{ ip: '10.1.0.5', node: 'b' }]), slice('default', 'db', [{ ip: '192.168.9.9' }], 5432)];
  const peer = (p: string, over: Partial<Parameters<typeof planTunnel>[2]> = {}) => planTunnel('a', { id: ID, peer: p }, { peerNode: keyed, slices, active: 0, maxPerNode: 2, ...over });
  assert.deepEqual(peer('b'), { action: 'peer', id: ID, peer: 'b' });
  assert.match(JSON.stringify(peer('b', { active: 2 })), /2 tunnels open \(limit 2\)/);
  assert.match(JSON.stringify(peer('a')), /itself/);
  assert.match(JSON.stringify(peer('b', { peerNode: undefined })), /no node \\"b\\"/);
  assert.match(JSON.stringify(peer('b', { peerNode: { metadata: {} } })), /no mesh key/);
  assert.match(JSON.stringify(peer('c', { peerNode: keyed })), /runs no endpoint/);
  const target = (host: string, port: number, ns = 'default', name = 'db') => planTunnel('a', { id: ID, target: { service: { namespace: ns, name }, host, port } }, { slices, active: 0, maxPerNode: 2 });
  assert.deepEqual(target('192.168.9.9', 5432), { action: 'cloud', id: ID, host: '192.168.9.9', port: 5432 });
  assert.equal(target('192.168.9.9', 22).action, 'refuse', 'a port the slice does not list');
  assert.equal(target('10.1.0.5', 80, 'default', 'web').action, 'refuse', 'an edge endpoint is reached through its node, never dialled by the relay');
  assert.equal(target('192.168.9.9', 5432, 'other').action, 'refuse', 'another namespace');
  assert.equal(target('8.8.8.8', 5432).action, 'refuse', 'an address no slice lists');
});

async function echo(t: TestContext): Promise<number> {
  const server: Server = createServer({ allowHalfOpen: true }, (s) => s.pipe(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  return (server.address() as { port: number }).port;
}

/** Two nodes (a asks, b serves an echo endpoint) and the relay, joined in memory; `seen` holds every frame payload the relay carried. */
async function rig(t: TestContext, o: { maxPerNode?: number; maxRequestsPerSecond?: number; slices?: SliceFacts[]; window?: number } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-tunnels-'));
  const [ia, ib] = await Promise.all([meshIdentity(join(dir, 'a'), 'a'), meshIdentity(join(dir, 'b'), 'b')]);
  const echoPort = await echo(t);
  const objects: KubeObject[] = [
    { apiVersion: 'v1', kind: 'Node', metadata: { name: 'b', annotations: { [MESH_KEY_ANNOTATION]: ib.keySha256 } } },
    ...(o.slices ?? [slice('default', 'web', [{ ip: '127.0.0.1', node: 'b' }], echoPort)]).map((s) => ({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', ...s }) as KubeObject),
  ];
  const store = {
    get: async (k: { resource: string; name: string }) => objects.find((x) => x.kind === 'Node' && k.resource === 'nodes' && x.metadata.name === k.name),
    list: async (s: { resource: string; namespace?: string }) => ({ items: objects.filter((x) => x.kind === 'EndpointSlice' && (!s.namespace || x.metadata.namespace === s.namespace)), revision: 1 }),
  };
  const servers = new Map<string, NodeStreamServer>();
  const seen: Buffer[] = [];
  const streams = new NodeStreams({ publish: async (node, f) => void setImmediate(() => servers.get(node)?.handle(f)), log, ...(o.window ? { window: o.window } : {}) });
  const relay = new RelayTunnels({ streams, objects: store, log, ...(o.maxPerNode ? { maxPerNode: o.maxPerNode } : {}), ...(o.maxRequestsPerSecond ? { maxRequestsPerSecond: o.maxRequestsPerSecond, now: () => 5_000 } : {}) });
  const server = new PeerServer({ identity: ib, peerByKey: (k) => (k === ia.keySha256 ? 'a' : undefined), allowed: (h, p) => h === '127.0.0.1' && p === echoPort, connectTimeoutMs: 1000, udpIdleMs: 5000, log });
  t.after(() => server.close());
  const tunnels = new Map<string, Tunnels>();
  for (const name of ['a', 'b']) {
    const tn = new Tunnels({
      send: async (req: TunnelRequest) => void setImmediate(() => void relay.request(name, Buffer.from(JSON.stringify(req)))),
      acceptPeer: (raw) => server.accept(raw),
      local: (h, p) => name === 'b' && h === '127.0.0.1' && p === echoPort,
      connectTimeoutMs: 1000,
      answerTimeoutMs: 5000,
      log,
    });
    tunnels.set(name, tn);
    servers.set(name, new NodeStreamServer({ send: (f) => void (seen.push(f), setImmediate(() => streams.observe(name, 'stream/up', f))), open: (r) => tn.open(r), log, ...(o.window ? { window: o.window } : {}) }));
  }
  const peers = new Peers({
    identity: ia,
    peer: (n) => (n === 'b' ? { name: 'b', addresses: ['127.0.0.1'], keySha256: ib.keySha256, port: 1 } : undefined),
    defaultPort: 1,
    relay: (peer) => tunnels.get('a')!.request({ peer }),
    relayOnly: () => true,
    localAddresses: () => new Set(),
    log,
    directTimeoutMs: 300,
    retryDirectSeconds: 60,
    pingSeconds: 30,
  });
  t.after(() => peers.close());
  return { relay, streams, tunnels, peers, server, seen, echoPort };
}

const roundTrip = (s: import('node:stream').Duplex, payload: Buffer): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    s.on('data', (d: Buffer) => got.push(d));
    s.on('end', () => resolve(Buffer.concat(got)));
    s.on('error', reject);
    s.end(payload);
  });

test('through the relay: a peer session inside a spliced tunnel, end-to-end TLS (the relay carries no plaintext), credit across the path', async (t) => {
  const r = await rig(t, { window: 64 * 1024 });
  const secret = Buffer.from('plaintext-the-relay-must-not-see-'.repeat(4096)); // ~132 KiB: two windows and more
  const one = await r.peers.open('b', '127.0.0.1', r.echoPort);
  assert.equal(one.path, 'relay');
  assert.deepEqual(await roundTrip(one.stream, secret), secret);
  const two = await r.peers.open('b', '127.0.0.1', r.echoPort);
  assert.equal((await roundTrip(two.stream, Buffer.from('again'))).toString(), 'again');
  assert.equal(r.relay.counters.peer, 1, 'one tunnel carries both connections (one HTTP/2 session)');
  assert.equal(r.server.counters.streams, 2);
  const carried = Buffer.concat(r.seen);
  assert.ok(carried.length > secret.length, 'the bytes passed the relay');
  assert.equal(carried.indexOf('plaintext-the-relay'), -1, 'only TLS records crossed the relay');
  assert.ok(r.streams.stats().buffered <= 4 * 64 * 1024, 'the relay held at most its windows');
});

test('through the relay: refused at once past the per-node limit, and for a peer that runs no endpoint', async (t) => {
  const r = await rig(t, { maxPerNode: 1 });
  const first = await r.peers.open('b', '127.0.0.1', r.echoPort);
  assert.equal(first.path, 'relay');
  // a second tunnel while the first is open: over the limit
  await assert.rejects(r.tunnels.get('a')!.request({ peer: 'b' }), /refused the tunnel: node "a" has 1 tunnels open \(limit 1\)/);
  await assert.rejects(r.tunnels.get('b')!.request({ peer: 'b' }), /itself/);
  assert.equal(r.relay.counters.refused, 2);
  assert.deepEqual(r.relay.open(), { a: 1 });
});

test('through the relay: a node asking too often is dropped unanswered (counted), before anything is read', async (t) => {
  const r = await rig(t, { maxRequestsPerSecond: 2 });
  const a = r.tunnels.get('a')!;
  const asks = [0, 1, 2, 3].map(() => a.request({ peer: 'c' }).then(() => 'opened', (e: Error) => e.message));
  // the clock stands still: two requests in this second are answered (refused: no node c), two are dropped
  while (r.relay.counters.limited + r.relay.counters.refused < 4 || a.counters.refused < 2) await new Promise((res) => setImmediate(res));
  assert.equal(r.relay.counters.limited, 2);
  assert.equal(r.relay.counters.refused, 2);
  a.failAll('test over');
  const out = await Promise.all(asks);
  assert.equal(out.filter((m) => /no node "c"/.test(m)).length, 2, out.join(' | '));
  assert.equal(out.filter((m) => m === 'test over').length, 2, out.join(' | '));
});

test('a cloud endpoint (no nodeName): the relay dials it and joins it to the asking node', async (t) => {
  const dir = await echo(t);
  const r = await rig(t, { slices: [slice('default', 'db', [{ ip: '127.0.0.1' }], dir)] });
  const s = await r.tunnels.get('a')!.request({ target: { service: { namespace: 'default', name: 'db' }, host: '127.0.0.1', port: dir } });
  assert.equal((await roundTrip(s, Buffer.from('to the cloud'))).toString(), 'to the cloud');
  assert.equal(r.relay.counters.cloud, 1);
  await assert.rejects(r.tunnels.get('a')!.request({ target: { service: { namespace: 'default', name: 'db' }, host: '127.0.0.1', port: 1 } }), /no cloud endpoint/);
});

test('a target session on a node: only an endpoint running there is dialled', async (t) => {
  const r = await rig(t);
  const b = r.tunnels.get('b')!;
  const bad = await b.open({ kind: 'tunnel', tunnel: { target: { host: '127.0.0.1', port: 1 } }, window: 1024, keepaliveMs: 1000 });
  assert.ok('error' in bad && /not an endpoint on this node/.test(bad.error.message));
  const good = await b.open({ kind: 'tunnel', tunnel: { target: { host: '127.0.0.1', port: r.echoPort } }, window: 1024, keepaliveMs: 1000 });
  assert.ok('session' in good);
  await good.session.close();
  const stray = await b.open({ kind: 'tunnel', tunnel: { id: ID }, window: 1024, keepaliveMs: 1000 });
  assert.ok('error' in stray && stray.error.code === 'NotFound', 'an answer to a request this node never made');
});
