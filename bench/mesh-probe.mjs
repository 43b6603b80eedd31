#!/usr/bin/env node
/**
 * The mesh bench's probe (bench/mesh.mjs starts it inside a pod's or a test host's network
 * namespace with `nsenter -n` / `ip netns exec`; not a bench of its own):
 *
 *   server <addr> <port>   TCP: the first line `bulk <n>` gets n bytes then the end; `echo` echoes
 *   dns <addr> <port>      UDP: a stand-in upstream resolver (a fake: the bench's hosts have no way
 *                          out), answering every A question at once with 192.0.2.1
 *   client '<json>'        measures what the JSON asks, prints the samples as JSON:
 *                          { tcp: [{name, host, port}], bulk, bulkRuns, connects, roundTrips,
 *                            dns: [{name, server, port, qname}], queries }
 */
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import * as dnsPacket from 'dns-packet';

const [role, ...args] = process.argv.slice(2);
const now = () => Number(process.hrtime.bigint()) / 1e6;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);

function serve(host, port) {
  const server = createServer((s) => {
    s.setNoDelay(true);
    let head = Buffer.alloc(0);
    const onData = (d) => {
      head = Buffer.concat([head, d]);
      const nl = head.indexOf(10);
      if (nl < 0) return;
      s.off('data', onData);
      const [cmd, n] = head.subarray(0, nl).toString().split(' ');
      const rest = head.subarray(nl + 1);
      if (cmd === 'echo') {
        if (rest.length) s.write(rest);
        s.pipe(s);
        return;
      }
      let left = Number(n);
      const pump = () => {
        while (left > 0) {
          const c = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
          left -= c.length;
          if (!s.write(c)) return void s.once('drain', pump);
        }
        s.end();
      };
      pump();
    };
    s.on('data', onData);
    s.on('error', () => s.destroy());
  });
  server.listen(Number(port), host, () => process.stdout.write('listening\n'));
}

function fakeResolver(host, port) {
  const sock = createSocket('udp4');
  sock.on('message', (msg, rinfo) => {
    let q;
    try {
      q = dnsPacket.decode(msg);
    } catch {
      return;
    }
    const question = q.questions?.[0];
    const answers = question?.type === 'A' ? [{ type: 'A', name: question.name, ttl: 30, data: '192.0.2.1' }] : [];
    sock.send(dnsPacket.encode({ type: 'response', id: q.id, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE, questions: q.questions, answers }), rinfo.port, rinfo.address);
  });
  sock.bind(Number(port), host, () => process.stdout.write('listening\n'));
}

const open = (t) =>
  new Promise((resolve, reject) => {
    const s = connect(t.port, t.host, () => resolve(s));
    s.setNoDelay(true);
    s.once('error', reject);
  });

/** connect → `bulk n` → the last byte; ms */
async function bulk(t, n) {
  const t0 = now();
  const s = await open(t);
  let got = 0;
  await new Promise((resolve, reject) => {
    s.on('data', (d) => void (got += d.length));
    s.once('end', resolve);
    s.once('error', reject);
    s.write(`bulk ${n}\n`);
  });
  s.destroy();
  if (got !== n) throw new Error(`${t.name}: ${got} of ${n} bytes`);
  return now() - t0;
}

/** a new connection until its first byte back (connect + the way to the endpoint and back); ms */
async function firstByte(t) {
  const t0 = now();
  const s = await open(t);
  await new Promise((resolve, reject) => {
    s.once('data', resolve);
    s.once('error', reject);
    s.write('echo\nx');
  });
  const ms = now() - t0;
  s.destroy();
  return ms;
}

/** one connection, `n` one-byte request/response round trips; ms each */
async function roundTrips(t, n) {
  const s = await open(t);
  const out = [];
  let waiting;
  s.on('data', () => waiting?.resolve());
  s.on('error', (e) => waiting?.reject(e));
  s.write('echo\n');
  for (let i = 0; i < n; i++) {
    const t0 = now();
    await new Promise((resolve, reject) => {
      waiting = { resolve, reject };
      s.write('x');
    });
    out.push(now() - t0);
  }
  s.destroy();
  return out;
}

/** `n` A queries one after another; ms each (a query not answered within 2 s counts as lost) */
async function queries(d, n) {
  const sock = createSocket('udp4');
  await new Promise((r) => sock.bind(0, r));
  const out = [];
  let lost = 0;
  let rcode;
  for (let i = 0; i < n; i++) {
    const id = (i % 65_535) + 1;
    const msg = dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: d.qname }] });
    const t0 = now();
    const ok = await new Promise((resolve) => {
      const timer = setTimeout(() => {
        sock.off('message', on);
        resolve(false);
      }, 2000);
      const on = (m) => {
        const p = dnsPacket.decode(m);
        if (p.id !== id) return;
        clearTimeout(timer);
        sock.off('message', on);
        rcode = p.rcode;
        resolve((p.answers ?? []).some((a) => a.type === 'A'));
      };
      sock.on('message', on);
      sock.send(msg, d.port, d.server);
    });
    if (ok) out.push(now() - t0);
    else lost++;
  }
  sock.close();
  return { ms: out, lost, rcode };
}

async function client(spec) {
  const res = { tcp: {}, dns: {} };
  for (const t of spec.tcp ?? []) {
    for (let i = 0; i < 3; i++) await firstByte(t); // warm: a first connection sets up a peer session
    res.tcp[t.name] = { bulkMs: [], firstByteMs: [], roundTripMs: [] };
  }
  // one target after another inside each step, so a noisy neighbour hits all of them alike
  for (let r = 0; r < (spec.bulkRuns ?? 0); r++) for (const t of spec.tcp) res.tcp[t.name].bulkMs.push(await bulk(t, spec.bulk));
  for (let r = 0; r < (spec.connects ?? 0); r++) for (const t of spec.tcp) res.tcp[t.name].firstByteMs.push(await firstByte(t));
  for (const t of spec.tcp ?? []) res.tcp[t.name].roundTripMs.push(...(await roundTrips(t, spec.roundTrips ?? 0)));
  for (const d of spec.dns ?? []) res.dns[d.name] = await queries(d, spec.queries ?? 0);
  process.stdout.write(`${JSON.stringify(res)}\n`);
}

if (role === 'server') serve(args[0], args[1]);
else if (role === 'dns') fakeResolver(args[0], args[1]);
else if (role === 'client') await client(JSON.parse(args[0]));
else {
  process.stderr.write('usage: mesh-probe.mjs server|dns <addr> <port> | client <json>\n');
  process.exit(2);
}
