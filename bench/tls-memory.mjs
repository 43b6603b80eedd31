#!/usr/bin/env node
/**
 * What one idle connection costs a Node server, TLS against plain TCP, in the same run (issue 19:
 * the relay's broker holds one per node). A server process accepts N connections from a client
 * process (each from its own loopback address), the client writes 50 bytes on each and keeps them
 * open; the server's RSS and V8 heap after a full collection, before and after, divided by N.
 * Three arms in turn, each in fresh processes: plain TCP (the baseline), TLS 1.3, TLS 1.2.
 *
 *   node bench/tls-memory.mjs [N=2000]
 */
import { execFileSync, fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const [role, arg1, arg2] = process.argv.slice(2);

const source = (i) => `127.102.${Math.floor(i / 254) % 256}.${(i % 254) + 1}`;

if (role === 'client') {
  // arg1: port, arg2: arm
  const { n, arm } = JSON.parse(arg2);
  const port = Number(arg1);
  const socks = [];
  let i = 0;
  const next = () => {
    if (i >= n) return process.send('connected');
    const k = i++;
    const opts = { port, host: '127.0.0.1', localAddress: source(k) };
    const s = arm === 'tcp' ? net.connect(opts, () => (s.write(Buffer.alloc(50)), next())) : tls.connect({ ...opts, rejectUnauthorized: false, maxVersion: arm === 'tls1.2' ? 'TLSv1.2' : 'TLSv1.3' }, () => (s.write(Buffer.alloc(50)), next()));
    s.on('error', (e) => process.send(`error ${e.message}`));
    socks.push(s);
  };
  next();
  setInterval(() => {}, 1 << 30);
} else if (role === 'server') {
  const { n, arm, cert, key } = JSON.parse(arg1);
  const held = [];
  const onConn = (s) => {
    held.push(s);
    s.on('data', () => {});
    s.on('error', () => {});
  };
  const server = arm === 'tcp' ? net.createServer(onConn) : tls.createServer({ cert, key, minVersion: 'TLSv1.2' }, onConn);
  const mem = () => {
    global.gc();
    global.gc();
    const m = process.memoryUsage();
    return { rss: m.rss, heap: m.heapTotal };
  };
  server.listen(0, '127.0.0.1', () => {
    const before = mem();
    const client = fork(self, ['client', String(server.address().port), JSON.stringify({ n, arm })]);
    client.on('message', (m) => {
      if (m !== 'connected') return process.send({ error: m });
      setTimeout(() => {
        const after = mem();
        process.send({ arm, connections: held.length, rssPerConnKiB: +((after.rss - before.rss) / n / 1024).toFixed(1), heapPerConnKiB: +((after.heap - before.heap) / n / 1024).toFixed(1) });
        client.kill();
        process.exit(0);
      }, 1000);
    });
  });
}

if (role !== 'client' && role !== 'server') {
  const n = Number(process.argv[2] ?? 2000);
  const dir = mkdtempSync(join(tmpdir(), 'tls-memory-'));
  // the relay's certificates are ECDSA P-256 (src/relay/tls)
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-subj', '/CN=bench', '-days', '1'], { stdio: 'ignore' });
  const cert = readFileSync(join(dir, 'c.pem'), 'utf8');
  const key = readFileSync(join(dir, 'k.pem'), 'utf8');
  rmSync(dir, { recursive: true, force: true });
  const arms = [];
  for (const arm of ['tcp', 'tls1.3', 'tls1.2']) {
    const r = await new Promise((resolve) => {
      const p = fork(self, ['server', JSON.stringify({ n, arm, cert, key })], { execArgv: ['--expose-gc'] });
      p.once('message', resolve);
    });
    arms.push(r);
  }
  const tcp = arms[0];
  console.log(JSON.stringify({ connections: n, node: process.version, arms, tlsOverTcpKiB: Object.fromEntries(arms.slice(1).map((a) => [a.arm, +(a.rssPerConnKiB - tcp.rssPerConnKiB).toFixed(1)])) }, null, 1));
}
