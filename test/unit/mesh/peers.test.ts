/**
 * Peer connections on loopback with real TLS and HTTP/2: both sides authenticated by the keys
 * the relay would publish; a direct path; the relay path (a tunnel stood in by an in-memory
 * duplex pair into the server's accept, which is what a spliced stream session delivers); a
 * client whose key is not published, and a server that is not who it should be, are refused;
 * only local endpoints may be reached; UDP datagrams over a CONNECT stream.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLogger } from '../../../src/core/logger.js';
import { meshIdentity, type MeshIdentity } from '../../../src/modules/mesh/identity.js';
import { PeerServer } from '../../../src/modules/mesh/peer-server.js';
import { Peers } from '../../../src/modules/mesh/peers.js';
import { duplexPair } from '../../../src/modules/mesh/pipe.js';
import { Deframer, frame } from '../../../src/modules/mesh/udp.js';
import type { PeerInfo } from '../../../src/modules/mesh/table.js';

const log = createLogger({ level: 'silent', format: 'json' }, 't');

async function echo(): Promise<{ server: Server; port: number }> {
  const server = createServer({ allowHalfOpen: true }, (s) => s.pipe(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port };
}

const read = (s: NodeJS.ReadableStream): Promise<string> =>
  new Promise((resolve) => {
    let out = '';
    s.on('data', (d: Buffer) => (out += d.toString()));
    s.on('end', () => resolve(out));
  });

interface World {
  a: MeshIdentity;
  b: MeshIdentity;
  stranger: MeshIdentity;
  server: PeerServer;
  port: number;
  echoPort: number;
  close(): Promise<void>;
}

async function world(): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-peers-'));
  const [a, b, stranger] = await Promise.all([meshIdentity(join(dir, 'a'), 'a'), meshIdentity(join(dir, 'b'), 'b'), meshIdentity(join(dir, 's'), 'stranger')]);
  const e = await echo();
  const server = new PeerServer({
    identity: b,
    peerByKey: (k) => (k === a.keySha256 ? 'a' : undefined),
    allowed: (host, port) => host === '127.0.0.1' && port === e.port,
    connectTimeoutMs: 1000,
    udpIdleMs: 5000,
    log,
  });
  const port = await server.listen('127.0.0.1', 0);
  return {
    a,
    b,
    stranger,
    server,
    port,
    echoPort: e.port,
    close: async () => {
      await server.close();
      e.server.close();
    },
  };
}

function peers(w: World, identity: MeshIdentity, info: Partial<PeerInfo>, relay?: () => Promise<import('node:stream').Duplex>, mine: string[] = []): Peers {
  return new Peers({
    localAddresses: () => new Set(mine),
    identity,
    peer: (n) => (n === 'b' ? { name: 'b', addresses: ['127.0.0.1'], keySha256: w.b.keySha256, port: w.port, ...info } : undefined),
    defaultPort: w.port,
    relay: relay ?? (() => Promise.reject(new Error('no relay here'))),
    log,
    directTimeoutMs: 300,
    retryDirectSeconds: 60,
    pingSeconds: 30,
  });
}

test('identity: made once, kept, its key hash stable', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-id-'));
  const one = await meshIdentity(dir, 'n1');
  const two = await meshIdentity(dir, 'n1');
  assert.equal(one.keySha256, two.keySha256);
  assert.match(one.keySha256, /^[0-9a-f]{64}$/);
});

test('direct path: one HTTP/2 session, a CONNECT stream per connection, half-close kept', async (t) => {
  const w = await world();
  const p = peers(w, w.a, {});
  t.after(async () => (p.close(), await w.close()));
  const one = await p.open('b', '127.0.0.1', w.echoPort);
  assert.equal(one.path, 'direct');
  one.stream.end('hello');
  assert.equal(await read(one.stream), 'hello', 'the echo answered after our side was closed');
  const two = await p.open('b', '127.0.0.1', w.echoPort);
  two.stream.end('again');
  assert.equal(await read(two.stream), 'again');
  assert.equal(p.counters.direct, 1, 'one session for both');
  assert.equal(w.server.counters.streams, 2);
});

test('a peer not reached directly goes through the relay tunnel, end-to-end TLS inside it', async (t) => {
  const w = await world();
  let tunnels = 0;
  const p = peers(w, w.a, { addresses: ['127.0.0.1'], port: 1 }, async () => {
    tunnels++;
    const [near, far] = duplexPair();
    w.server.accept(far);
    return near;
  });
  t.after(async () => (p.close(), await w.close()));
  const s = await p.open('b', '127.0.0.1', w.echoPort);
  assert.equal(s.path, 'relay');
  s.stream.end('through the relay');
  assert.equal(await read(s.stream), 'through the relay');
  assert.equal(tunnels, 1);
  assert.equal(p.counters.failedDirect, 1);
});

test('refusals: an unpublished client key, a server with the wrong key, an address that is no local endpoint', async (t) => {
  const w = await world();
  t.after(() => w.close());
  const stranger = peers(w, w.stranger, {});
  await assert.rejects(stranger.open('b', '127.0.0.1', w.echoPort));
  stranger.close();
  assert.equal(w.server.counters.unknownKeys, 1);
  const impostor = peers(w, w.a, { keySha256: w.stranger.keySha256 });
  // the direct answer is not from b: not trusted (the relay would be tried next; there is none here)
  await assert.rejects(impostor.open('b', '127.0.0.1', w.echoPort), /no relay here/);
  assert.equal(impostor.counters.failedDirect, 1);
  assert.equal(impostor.counters.direct, 0);
  impostor.close();
  const p = peers(w, w.a, {});
  await assert.rejects(p.open('b', '127.0.0.1', 22), (e: Error & { endpoint?: boolean }) => e.endpoint === true && /403/.test(e.message));
  p.close();
  assert.ok(w.server.counters.refused >= 1);
});

test('UDP over a CONNECT stream: framed datagrams reach the endpoint and come back', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mesh-udp-'));
  const [a, b] = await Promise.all([meshIdentity(join(dir, 'a'), 'a'), meshIdentity(join(dir, 'b'), 'b')]);
  const udp = createSocket('udp4');
  udp.on('message', (m, r) => udp.send(Buffer.concat([Buffer.from('re:'), m]), r.port, r.address));
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  const udpPort = udp.address().port;
  const server = new PeerServer({ identity: b, peerByKey: (k) => (k === a.keySha256 ? 'a' : undefined), allowed: (_h, port, proto) => proto === 'UDP' && port === udpPort, connectTimeoutMs: 1000, udpIdleMs: 5000, log });
  const port = await server.listen('127.0.0.1', 0);
  const p = new Peers({ identity: a, peer: () => ({ name: 'b', addresses: ['127.0.0.1'], keySha256: b.keySha256, port }), defaultPort: port, localAddresses: () => new Set(), relay: () => Promise.reject(new Error('x')), log, directTimeoutMs: 300, retryDirectSeconds: 60, pingSeconds: 30 });
  t.after(async () => (p.close(), await server.close(), udp.close()));
  const { stream } = await p.open('b', '127.0.0.1', udpPort, 'udp');
  const d = new Deframer();
  const got: string[] = [];
  const all = new Promise<void>((resolve) =>
    stream.on('data', (c: Buffer) => {
      for (const g of d.push(c)) got.push(g.toString());
      if (got.length === 2) resolve();
    }),
  );
  stream.write(Buffer.concat([frame(Buffer.from('one')), frame(Buffer.from('two'))]));
  await all;
  assert.deepEqual(got.sort(), ['re:one', 're:two']);
});

test("a peer's address that is also this node's (a Docker bridge, a ClusterIP) is never dialled: it would reach this node itself", async (t) => {
  const w = await world();
  t.after(() => w.close());
  const p = peers(w, w.a, {}, undefined, ['127.0.0.1']);
  t.after(() => p.close());
  await assert.rejects(p.open('b', '127.0.0.1', w.echoPort), /not reachable|no address that is not also this node's|no relay here/);
  assert.equal(w.server.counters.sessions, 0, 'no session reached the listener');
  assert.equal(p.counters.direct, 0);
});

test('with no relay path, every dial tries the peer directly: a failure holds nothing off', async (t) => {
  const w = await world();
  t.after(() => w.close());
  const gone = createServer();
  await new Promise<void>((r) => gone.listen(0, '127.0.0.1', r));
  let port = (gone.address() as { port: number }).port;
  await new Promise((r) => gone.close(r));
  const p = new Peers({
    identity: w.a,
    peer: (n) => (n === 'b' ? { name: 'b', addresses: ['127.0.0.1'], keySha256: w.b.keySha256, port } : undefined),
    defaultPort: port,
    localAddresses: () => new Set(),
    log,
    directTimeoutMs: 300,
    retryDirectSeconds: 3600,
    pingSeconds: 30,
  });
  t.after(() => p.close());
  await assert.rejects(p.open('b', '127.0.0.1', w.echoPort), /not reachable directly/);
  port = w.port;
  const { stream, path } = await p.open('b', '127.0.0.1', w.echoPort);
  assert.equal(path, 'direct');
  stream.end('ping');
  assert.equal(await read(stream), 'ping');
});
