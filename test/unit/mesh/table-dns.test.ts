/**
 * The mesh table from stored objects, the cluster DNS answers (pure), the balancer, and the DNS
 * server on real sockets with a fake upstream resolver (a UDP/TCP server on loopback standing in
 * for the node's nameserver, which cannot be reached from a test).
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createServer, connect } from 'node:net';
import { test } from 'node:test';
import * as dns from 'dns-packet';
import { createLogger } from '../../../src/core/logger.js';
import { Balancer, eligible } from '../../../src/modules/mesh/balancer.js';
import { decide } from '../../../src/modules/mesh/dns-answer.js';
import { DnsServer } from '../../../src/modules/mesh/dns-server.js';
import { addressesOf, buildTable } from '../../../src/modules/mesh/table.js';
import { parseResolvConf, Upstream } from '../../../src/modules/mesh/upstream.js';
import { peerNode, service, slice, world } from './fixture.js';

const S = { domain: 'cluster.local', ttl: 5 };
/** dns-packet's decoded fields its types leave out */
const rcode = (p: dns.DecodedPacket): string => (p as unknown as { rcode: string }).rcode;
const data = (a: dns.Answer): unknown => (a as { data?: unknown }).data;
const query = (name: string, type: dns.RecordType | 'ANY' = 'A'): dns.DecodedPacket =>
  dns.decode(dns.encode({ type: 'query', id: 7, flags: dns.RECURSION_DESIRED, questions: [{ type: type as dns.RecordType, name, class: 'IN' }] }));
const ask = (name: string, type: dns.RecordType | 'ANY' = 'A') => {
  const d = decide(query(name, type), world(), S);
  if (d.kind === 'forward') return 'forward';
  const p = dns.decode(dns.encode(d.packet));
  return { rcode: rcode(p), aa: p.flag_aa, answers: (p.answers ?? []).map((a) => `${a.type} ${typeof data(a) === 'object' ? JSON.stringify(data(a)) : String(data(a))}`), ...(d.chase ? { chase: d.chase } : {}) };
};

test('table: routes for ClusterIPs and node ports, peers without self, bad objects named', () => {
  const t = world('a');
  assert.deepEqual([...t.vips.keys()].sort(), ['10.96.0.20:80/TCP', '10.96.0.30:81/TCP', '10.96.0.40:53/UDP']);
  assert.deepEqual([...t.nodePorts.keys()], ['30081/TCP']);
  assert.deepEqual(addressesOf(t), ['10.96.0.20', '10.96.0.30', '10.96.0.40']);
  assert.deepEqual([...t.peers.keys()].sort(), ['b', 'c']);
  assert.deepEqual(t.peers.get('b'), { name: 'b', addresses: ['192.168.1.2'], keySha256: 'ab'.repeat(32), port: 10550 });
  // a peer's loopback, link-local or multicast address would reach this node itself or nobody: never dialled
  const odd = buildTable({ self: 'a', nodePorts: false, services: [], slices: [], nodes: [peerNode('d', ['127.0.0.1', '169.254.3.4', '0.0.0.0', '224.0.0.1', '10.9.0.4'])] });
  assert.deepEqual(odd.peers.get('d')?.addresses, ['10.9.0.4']);
  const bad = buildTable({ self: 'a', nodePorts: false, services: [service('x', { ports: [{ port: 'eighty' }] })], slices: [slice('x', [{ ip: '1.2.3.4' }], [])], nodes: [] });
  assert.equal(bad.services.size, 0);
  assert.match(bad.problems[0]!, /^Service default\/x: .*spec\.ports\[0\]\.port/);
});

test('DNS: service names, headless, ExternalName, SRV, pods, PTR; NXDOMAIN inside the domain; the rest forwarded', () => {
  assert.deepEqual(ask('web.default.svc.cluster.local'), { rcode: 'NOERROR', aa: true, answers: ['A 10.96.0.20'] });
  assert.deepEqual(ask('WEB.Default.svc.cluster.local.'), { rcode: 'NOERROR', aa: true, answers: ['A 10.96.0.20'] }, 'names are case-insensitive');
  assert.deepEqual(ask('web.default.svc.cluster.local', 'AAAA'), { rcode: 'NOERROR', aa: true, answers: [] }, 'IPv4 only: an empty answer, not NXDOMAIN');
  assert.deepEqual(ask('db.default.svc.cluster.local'), { rcode: 'NOERROR', aa: true, answers: ['A 172.17.0.5', 'A 172.17.0.6'] }, 'ready endpoints only');
  assert.deepEqual(ask('db-0.db.default.svc.cluster.local'), { rcode: 'NOERROR', aa: true, answers: ['A 172.17.0.5'] });
  assert.deepEqual(ask('172-17-0-6.db.default.svc.cluster.local'), { rcode: 'NOERROR', aa: true, answers: ['A 172.17.0.6'] });
  assert.deepEqual(ask('ext.default.svc.cluster.local'), { rcode: 'NOERROR', aa: true, answers: ['CNAME db.example.com'], chase: 'db.example.com' });
  assert.deepEqual(ask('_http._tcp.web.default.svc.cluster.local', 'SRV'), {
    rcode: 'NOERROR',
    aa: true,
    answers: ['SRV {"priority":0,"weight":100,"port":80,"target":"web.default.svc.cluster.local"}'],
  });
  assert.deepEqual(ask('10-1-2-3.default.pod.cluster.local'), { rcode: 'NOERROR', aa: true, answers: ['A 10.1.2.3'] });
  assert.deepEqual(ask('20.0.96.10.in-addr.arpa', 'PTR'), { rcode: 'NOERROR', aa: true, answers: ['PTR web.default.svc.cluster.local'] });
  // search-path walks get a fast, authoritative "no"
  assert.deepEqual(ask('web.svc.cluster.local'), { rcode: 'NOERROR', aa: true, answers: [] });
  assert.deepEqual(ask('example.com.default.svc.cluster.local'), { rcode: 'NXDOMAIN', aa: true, answers: [] });
  assert.deepEqual(ask('nope.default.svc.cluster.local'), { rcode: 'NXDOMAIN', aa: true, answers: [] });
  assert.deepEqual(ask('web.cluster.local'), { rcode: 'NXDOMAIN', aa: true, answers: [] });
  assert.equal(ask('example.com'), 'forward');
  assert.equal(ask('1.1.168.192.in-addr.arpa', 'PTR'), 'forward');
});

test('balancer: ready first, serving as the fallback, Local, PreferClose, ClientIP affinity, exclusions', () => {
  const t = world('a');
  const route = t.vips.get('10.96.0.20:80/TCP')!;
  const ctx = { self: 'a', clientIp: '172.17.0.9', now: 0, direct: (n: string) => n === 'b' };
  assert.deepEqual(
    eligible(route, ctx).map((x) => `${x.nodeName}/${x.address}:${x.port}`),
    ['a/172.17.0.2:8080', 'b/172.17.0.2:8080'],
    'c is not ready; same pod IP on two nodes stays two endpoints',
  );
  const b = new Balancer();
  assert.deepEqual([b.pick(route, ctx)?.nodeName, b.pick(route, ctx)?.nodeName, b.pick(route, ctx)?.nodeName], ['a', 'b', 'a'], 'round robin');
  assert.deepEqual(eligible(route, { ...ctx, exclude: new Set(['a/172.17.0.2:8080', 'b/172.17.0.2:8080']) }), [], 'all tried: none left, no fallback to unready ones');
  // nothing ready: the serving endpoint of c
  const cOnly = { ...route, service: { ...route.service, endpoints: route.service.endpoints.filter((e) => e.nodeName === 'c') } };
  assert.deepEqual(eligible(cOnly, ctx).map((x) => x.nodeName), ['c']);
  const local = { ...route, service: { ...route.service, localOnly: true } };
  assert.deepEqual(eligible(local, ctx).map((x) => x.nodeName), ['a']);
  const close = { ...route, service: { ...route.service, preferClose: true, endpoints: route.service.endpoints.filter((e) => e.nodeName !== 'a') } };
  assert.deepEqual(eligible(close, ctx).map((x) => x.nodeName), ['b'], 'a direct peer before one behind the relay');
  const sticky = { ...route, service: { ...route.service, affinityMs: 1000 } };
  const s = new Balancer();
  const first = s.pick(sticky, ctx)!.nodeName;
  assert.equal(s.pick(sticky, { ...ctx, now: 900 })!.nodeName, first, 'kept');
  assert.equal(s.pick(sticky, { ...ctx, now: 1800 })!.nodeName, first, 'each use renews it');
  assert.notEqual(s.pick(sticky, { ...ctx, now: 5000 })!.nodeName, first, 'expired: round robin moves on');
});

test('resolv.conf: nameservers, the last search line, options; comments ignored', () => {
  assert.deepEqual(parseResolvConf('# x\nnameserver 1.1.1.1\nnameserver bad\nsearch a b\nsearch c d ; old\noptions ndots:2 edns0\nnameserver 9.9.9.9 # second\n'), {
    servers: ['1.1.1.1', '9.9.9.9'],
    search: ['c', 'd'],
    options: ['ndots:2', 'edns0'],
  });
});

test('DNS server on UDP and TCP: cluster answers, forwarding through a fake upstream (UDP, TCP after truncation), SERVFAIL when it fails, truncation for big answers', async (t) => {
  // the fake upstream: answers example.com with 93.184.216.34 over UDP; "big.example" is truncated over UDP and whole over TCP
  const up = createSocket('udp4');
  up.on('message', (m, r) => {
    const q = dns.decode(m);
    const name = q.questions![0]!.name;
    const big = name === 'big.example';
    const answers: dns.Answer[] = big ? [] : [{ type: 'A', name, ttl: 60, class: 'IN', data: '93.184.216.34' }];
    up.send(dns.encode({ type: 'response', id: q.id, flags: dns.RECURSION_AVAILABLE | (big ? dns.TRUNCATED_RESPONSE : 0), questions: q.questions, answers }), r.port, r.address);
  });
  await new Promise<void>((r) => up.bind(0, '127.0.0.1', r));
  const upPort = up.address().port;
  const upTcp = createServer((sock) =>
    sock.on('data', (d) => {
      const q = dns.decode(d.subarray(2));
      const answers: dns.Answer[] = Array.from({ length: 40 }, (_, i) => ({ type: 'A', name: q.questions![0]!.name, ttl: 60, class: 'IN', data: `10.0.0.${i + 1}` }));
      const out = dns.encode({ type: 'response', id: q.id, flags: 0, questions: q.questions, answers });
      const len = Buffer.alloc(2);
      len.writeUInt16BE(out.length);
      sock.end(Buffer.concat([len, out]));
    }),
  );
  await new Promise<void>((r) => upTcp.listen(upPort, '127.0.0.1', r));
  let servers = ['127.0.0.1'];
  const upstream = new Upstream(() => servers, 500, upPort);
  const many = Array.from({ length: 60 }, (_, i) => ({ ip: `172.17.1.${i + 1}`, node: 'a' }));
  const table = buildTable({ self: 'a', nodePorts: false, services: [service('many', { clusterIP: 'None' })], slices: [slice('many', many, [])], nodes: [] });
  const merged = { ...world('a') };
  merged.services = new Map([...world('a').services, ...table.services]);
  const server = new DnsServer({ table: () => merged, settings: S, upstream, log: createLogger({ level: 'silent', format: 'json' }, 't') });
  await server.start('127.0.0.1', 0 as number);
  t.after(async () => {
    await server.stop();
    upstream.close();
    up.close();
    upTcp.close();
  });
  const port = (server as unknown as { udp: { address(): { port: number } } }).udp.address().port;
  const tcpPort = ((server as unknown as { tcp: { address(): { port: number } } }).tcp.address()).port;
  const client = createSocket('udp4');
  t.after(() => client.close());
  const udpAsk = (name: string): Promise<dns.DecodedPacket> =>
    new Promise((resolve) => {
      client.once('message', (m) => resolve(dns.decode(m)));
      client.send(dns.encode({ type: 'query', id: 42, flags: dns.RECURSION_DESIRED, questions: [{ type: 'A', name, class: 'IN' }] }), port, '127.0.0.1');
    });
  const tcpAsk = (name: string): Promise<dns.DecodedPacket> =>
    new Promise((resolve) => {
      const s = connect(tcpPort, '127.0.0.1');
      const q = dns.encode({ type: 'query', id: 43, flags: dns.RECURSION_DESIRED, questions: [{ type: 'A', name, class: 'IN' }] });
      const len = Buffer.alloc(2);
      len.writeUInt16BE(q.length);
      s.write(Buffer.concat([len, q]));
      let buf = Buffer.alloc(0);
      s.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 + buf.readUInt16BE(0)) {
          s.end();
          resolve(dns.decode(buf.subarray(2)));
        }
      });
    });
  const a1 = await udpAsk('web.default.svc.cluster.local');
  assert.deepEqual([a1.id, rcode(a1), a1.answers?.map(data)], [42, 'NOERROR', ['10.96.0.20']]);
  const a2 = await udpAsk('example.com');
  assert.deepEqual([a2.id, a2.answers?.map(data)], [42, ['93.184.216.34']], 'forwarded with the id the client chose');
  const a3 = await udpAsk('big.example');
  assert.equal(a3.answers?.length, 40, 'truncated upstream answer fetched again over TCP');
  const a4 = await udpAsk('ext.default.svc.cluster.local');
  assert.deepEqual(a4.answers?.map((a) => `${a.type} ${String(data(a))}`), ['CNAME db.example.com', 'A 93.184.216.34'], 'ExternalName chased upstream');
  const a5 = await udpAsk('many.default.svc.cluster.local');
  assert.equal(a5.flag_tc, true, '60 A records do not fit 512 bytes: truncated');
  const a6 = await tcpAsk('many.default.svc.cluster.local');
  assert.equal(a6.answers?.length, 60, 'and come whole over TCP');
  servers = [];
  const a7 = await udpAsk('example.org');
  assert.equal(rcode(a7), 'SERVFAIL');
  assert.ok(server.counters.cluster >= 3 && server.counters.forwarded >= 3);
});
