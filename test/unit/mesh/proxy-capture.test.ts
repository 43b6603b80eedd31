/**
 * The proxy over loopback with real sockets (a Service whose "ClusterIP" is 127.0.0.1 and whose
 * endpoints are local echo servers): round robin across endpoints, a dial that fails is retried on
 * the next endpoint, no endpoint → the client is reset, half-close kept; UDP flows. Listeners
 * follow the table and a table change never touches a connection already open. The capture's
 * plan and `ip addr` parsing; the pod DNS edged gives each dnsPolicy.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect, createServer, type Server } from 'node:net';
import { test } from 'node:test';
import type { Pod } from '../../../src/contract/resources/pod.js';
import { createLogger } from '../../../src/core/logger.js';
import { dnsOf } from '../../../src/modules/edged/desired.js';
import { Balancer } from '../../../src/modules/mesh/balancer.js';
import { parseAddrShow, planAddresses } from '../../../src/modules/mesh/capture.js';
import { dialTcp, dialUdp } from '../../../src/modules/mesh/dial.js';
import { ServiceProxy, type Dialled } from '../../../src/modules/mesh/proxy.js';
import { buildTable, type MeshTable } from '../../../src/modules/mesh/table.js';
import { service, slice } from './fixture.js';

const log = createLogger({ level: 'silent', format: 'json' }, 't');

async function tagged(tag: string): Promise<{ server: Server; port: number }> {
  const server = createServer({ allowHalfOpen: true }, (s) => {
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.on('end', () => s.end(`${tag}:${got}`));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

function ask(port: number, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect({ host: '127.0.0.1', port, allowHalfOpen: true }, () => c.end(body));
    let out = '';
    c.on('data', (d: Buffer) => (out += d.toString()));
    c.on('end', () => resolve(out));
    c.on('error', reject);
  });
}

function tableOf(port: number, endpoints: { ip: string; port: number }[], protocol = 'TCP'): MeshTable {
  return buildTable({
    self: 'a',
    nodePorts: false,
    nodes: [],
    services: [service('web', { clusterIP: '127.0.0.1', ports: [{ name: 'p', port, protocol }] })],
    slices: endpoints.map((e) => slice('web', [{ ip: e.ip, node: 'a' }], [{ name: 'p', port: e.port, protocol }])),
  });
}

function proxyOver(get: () => MeshTable, counted: string[]): ServiceProxy {
  return new ServiceProxy({
    self: 'a',
    table: get,
    balancer: new Balancer(),
    dial: async (target, route): Promise<Dialled> =>
      route.protocol === 'UDP' ? { stream: dialUdp(target.address, target.port, 5000), path: 'local' } : { stream: await dialTcp(target.address, target.port, 1000), path: 'local' },
    direct: () => false,
    maxAttempts: 3,
    udpIdleMs: 5000,
    count: (path, protocol, bytes) => void (bytes ? undefined : counted.push(`${path}/${protocol}`)),
    dialFailed: (path) => void counted.push(`failed/${path}`),
    log,
  });
}

test('proxy (TCP): round robin, a failed dial tries the next endpoint, none left → reset; half-close kept', async (t) => {
  const [one, two] = await Promise.all([tagged('one'), tagged('two')]);
  const dead = await freePort();
  const port = await freePort();
  let table = tableOf(port, [
    { ip: '127.0.0.1', port: one.port },
    { ip: '127.0.0.1', port: two.port },
  ]);
  const counted: string[] = [];
  const proxy = proxyOver(() => table, counted);
  t.after(async () => (await proxy.close(), one.server.close(), two.server.close()));
  assert.deepEqual((await proxy.sync()).opened, [`127.0.0.1:${port}/TCP`]);
  const answers = [await ask(port, 'x'), await ask(port, 'y')].sort();
  assert.deepEqual(answers, ['one:x', 'two:y'], 'each endpoint once, the request sent after the client closed its side');

  table = tableOf(port, [
    { ip: '127.0.0.1', port: dead },
    { ip: '127.0.0.1', port: two.port },
  ]);
  const got = [await ask(port, 'a'), await ask(port, 'b')];
  assert.deepEqual(got, ['two:a', 'two:b'], 'the dead endpoint is skipped');
  assert.ok(counted.includes('failed/local'));

  table = tableOf(port, [{ ip: '127.0.0.1', port: dead }]);
  await assert.rejects(ask(port, 'z'), /ECONNRESET|socket hang up/);
  assert.ok(counted.includes('none/TCP'));
});

test('proxy: listeners follow the table; an open connection outlives an unrelated change', async (t) => {
  const slow = createServer({ allowHalfOpen: true }, (s) => {
    s.resume();
    s.on('end', () => setTimeout(() => s.end('late'), 200));
  });
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
  const slowPort = (slow.address() as { port: number }).port;
  const [port, other] = [await freePort(), await freePort()];
  let table = tableOf(port, [{ ip: '127.0.0.1', port: slowPort }]);
  const proxy = proxyOver(() => table, []);
  t.after(async () => (await proxy.close(), slow.close()));
  await proxy.sync();
  const pending = ask(port, 'q');
  await new Promise((r) => setTimeout(r, 50));
  // the Service gains a port: one listener opened, none closed, the open connection untouched
  table = buildTable({
    self: 'a',
    nodePorts: false,
    nodes: [],
    services: [service('web', { clusterIP: '127.0.0.1', ports: [{ name: 'p', port, protocol: 'TCP' }, { name: 'o', port: other, protocol: 'TCP' }] })],
    slices: [slice('web', [{ ip: '127.0.0.1', node: 'a' }], [{ name: 'p', port: slowPort }])],
  });
  assert.deepEqual(await proxy.sync(), { opened: [`127.0.0.1:${other}/TCP`], closed: [], failed: [] });
  assert.equal(await pending, 'late');
  table = buildTable({ self: 'a', nodePorts: false, nodes: [], services: [], slices: [] });
  const s = await proxy.sync();
  assert.deepEqual(s.closed.sort(), [`127.0.0.1:${other}/TCP`, `127.0.0.1:${port}/TCP`].sort());
  assert.deepEqual(proxy.listening, []);
});

test('proxy (UDP): a client flow reaches the endpoint and gets its answers', async (t) => {
  const echo = createSocket('udp4');
  echo.on('message', (m, r) => echo.send(Buffer.concat([Buffer.from('re:'), m]), r.port, r.address));
  await new Promise<void>((r) => echo.bind(0, '127.0.0.1', r));
  const port = await freePort();
  const proxy = proxyOver(() => tableOf(port, [{ ip: '127.0.0.1', port: echo.address().port }], 'UDP'), []);
  const client = createSocket('udp4');
  t.after(async () => (await proxy.close(), echo.close(), client.close()));
  await proxy.sync();
  const got: string[] = [];
  const two = new Promise<void>((resolve) =>
    client.on('message', (m) => {
      got.push(m.toString());
      if (got.length === 2) resolve();
    }),
  );
  client.send('one', port, '127.0.0.1');
  client.send('two', port, '127.0.0.1');
  await two;
  assert.deepEqual(got.sort(), ['re:one', 're:two']);
});

test('capture: the addresses to add and delete; ip addr output parsed', () => {
  assert.deepEqual(planAddresses(['10.96.0.10', '10.96.0.20'], ['10.96.0.10', '10.96.0.30']), { add: ['10.96.0.30'], del: ['10.96.0.20'] });
  assert.deepEqual(planAddresses([], []), { add: [], del: [] });
  const out = '7: edgemesh0    inet 10.96.0.10/32 scope global edgemesh0\\       valid_lft forever\n7: edgemesh0    inet 10.96.0.20/32 scope global edgemesh0\\n';
  assert.deepEqual(parseAddrShow(out), ['10.96.0.10', '10.96.0.20']);
});

test('pod DNS: ClusterFirst (the default) gets the cluster DNS and search path; Default, hostNetwork and no cluster DNS get the node\'s; ClusterFirstWithHostNet; dnsConfig merged', () => {
  const pod = (spec: Partial<Pod['spec']>, namespace = 'shop'): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace }, spec: { containers: [], ...spec } }) as unknown as Pod;
  const dns = { address: '10.96.0.10', domain: 'cluster.local' };
  const host = (): string => 'nameserver 192.0.2.53\nsearch lan\n';
  assert.deepEqual(dnsOf(pod({}), host, dns), { servers: ['10.96.0.10'], search: ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], options: ['ndots:5'] });
  assert.deepEqual(dnsOf(pod({ dnsPolicy: 'ClusterFirst' }), host, { address: '10.0.0.53', domain: 'edge.example' })?.search, ['shop.svc.edge.example', 'svc.edge.example', 'edge.example']);
  assert.equal(dnsOf(pod({ dnsPolicy: 'Default' }), host, dns), undefined);
  assert.equal(dnsOf(pod({ hostNetwork: true }), host, dns), undefined);
  assert.deepEqual(dnsOf(pod({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }), host, dns)?.servers, ['10.96.0.10']);
  assert.equal(dnsOf(pod({}), host, undefined), undefined);
  const merged = dnsOf(pod({ dnsConfig: { searches: ['corp'], options: [{ name: 'ndots', value: '2' }] } } as Partial<Pod['spec']>), host, dns);
  assert.deepEqual(merged, { servers: ['10.96.0.10'], search: ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'corp'], options: ['ndots:2'] });
});
