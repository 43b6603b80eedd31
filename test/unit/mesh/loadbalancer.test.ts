/**
 * The relay as the load balancer of LoadBalancer Services (src/relay/streams/loadbalancer.ts):
 * the listener plan (first Service to ask for a port gets it; UDP and ClusterIP Services get
 * none), the endpoints it may use (ready, on an edge node, the port by name), and a real cloud
 * client on loopback reaching an echo endpoint on node "b" through a `target` tunnel session
 * (the relay's NodeStreams and b's stream server and Tunnels joined in memory). The store is a
 * fake (in-memory list; its watch never fires: the test calls sync).
 */
import assert from 'node:assert/strict';
import { connect, createServer } from 'node:net';
import { test } from 'node:test';
import { createLogger } from '../../../src/core/logger.js';
import { NodeStreamServer } from '../../../src/modules/edgehub/streams.js';
import { Tunnels } from '../../../src/modules/mesh/tunnels.js';
import { edgeEndpoints, planListeners, ServiceLoadBalancer } from '../../../src/relay/streams/loadbalancer.js';
import { NodeStreams } from '../../../src/relay/streams/node-streams.js';

const log = createLogger({ level: 'silent', format: 'json' }, 't');

const svc = (name: string, type: string, ports: { name?: string; port: number; protocol?: string }[], ns = 'default') => ({ metadata: { namespace: ns, name }, spec: { type, ports } });
const slice = (svcName: string, eps: { ip: string; node?: string; ready?: boolean }[], port: number, name = 'http') => ({
  metadata: { namespace: 'default', labels: { 'kubernetes.io/service-name': svcName } },
  addressType: 'IPv4',
  endpoints: eps.map((e) => ({ addresses: [e.ip], conditions: { ready: e.ready ?? true }, ...(e.node ? { nodeName: e.node } : {}) })),
  ports: [{ name, port, protocol: 'TCP' }],
});

test('plan: one listener per TCP port of LoadBalancer Services; a port held is a conflict; endpoints ready and on a node', () => {
  const { routes, conflicts } = planListeners([
    svc('b', 'LoadBalancer', [{ name: 'http', port: 8080 }]),
    svc('a', 'LoadBalancer', [{ name: 'http', port: 8080 }, { name: 'dns', port: 53, protocol: 'UDP' }]),
    svc('c', 'ClusterIP', [{ port: 9090 }]),
  ]);
  assert.deepEqual([...routes.entries()], [[8080, { namespace: 'default', service: 'a', portName: 'http', port: 8080 }]]);
  assert.deepEqual(conflicts, ['default/b port 8080: held by default/a']);
  const eps = edgeEndpoints({ namespace: 'default', service: 'a', portName: 'http', port: 8080 }, [
    slice('a', [{ ip: '10.0.0.1', node: 'n1' }, { ip: '10.0.0.2', node: 'n2', ready: false }, { ip: '192.168.0.9' }], 80),
    slice('a', [{ ip: '10.0.0.3', node: 'n3' }], 81, 'metrics'),
    slice('z', [{ ip: '10.0.0.4', node: 'n4' }], 80),
  ]);
  assert.deepEqual(eps, [{ node: 'n1', host: '10.0.0.1', port: 80 }]);
});

test('a cloud client reaches an edge endpoint through a target tunnel; status written once', async (t) => {
  const echo = createServer({ allowHalfOpen: true }, (s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  t.after(() => echo.close());
  const echoPort = (echo.address() as { port: number }).port;
  // a free port for the Service
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const lbPort = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r()));

  const servers = new Map<string, NodeStreamServer>();
  const streams = new NodeStreams({ publish: async (node, f) => void setImmediate(() => servers.get(node)?.handle(f)), log });
  const tunnels = new Tunnels({ send: async () => undefined, acceptPeer: () => undefined, local: (h, p) => h === '127.0.0.1' && p === echoPort, connectTimeoutMs: 1000, answerTimeoutMs: 1000, log });
  servers.set('b', new NodeStreamServer({ send: (f) => void setImmediate(() => streams.observe('b', 'stream/up', f)), open: (r) => tunnels.open(r), log }));
  const items = [svc('web', 'LoadBalancer', [{ name: 'http', port: lbPort }]), slice('web', [{ ip: '127.0.0.1', node: 'b' }], echoPort)];
  const written: string[] = [];
  const lb = new ServiceLoadBalancer({
    streams,
    objects: {
      revision: async () => 1,
      watch: async () => ({ stop: () => undefined }),
      list: async (s) => ({ items: items.filter((x) => ('spec' in x) === (s.resource === 'services')) as never, revision: 1 }),
    },
    writeStatus: async (ns, name, ip) => void written.push(`${ns}/${name}=${ip}`),
    address: '127.0.0.1',
    ingressIP: '127.0.0.1',
    resyncMs: 60_000,
    log,
  });
  t.after(() => lb.stop());
  await lb.start();
  assert.deepEqual(lb.ports, [lbPort]);
  assert.deepEqual(written, ['default/web=127.0.0.1']);
  const answer = await new Promise<string>((resolve, reject) => {
    const c = connect(lbPort, '127.0.0.1');
    let out = '';
    c.on('data', (d: Buffer) => (out += d.toString()));
    c.on('end', () => resolve(out));
    c.on('error', reject);
    c.end('from the cloud side');
  });
  assert.equal(answer, 'from the cloud side', 'the echo answered after the client half-closed');
  assert.equal(tunnels.counters.targets, 1);
  assert.equal(lb.counters.connections, 1);
  // the Service goes away: its listener closes
  items.splice(0, 1);
  await lb.sync();
  assert.deepEqual(lb.ports, []);
});
