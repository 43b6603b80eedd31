/**
 * Test hosts made of network namespaces (docs/mesh.md, "Tests"): each host is an `ip netns` of
 * its own where its `edgecore` runs (its mesh interface, ClusterIPs, DNS and peer listener are
 * that namespace's), with its pods on a Docker network of its own whose only way out is that
 * namespace:
 *
 *   pod ── bridge b<id><i> (root ns, no masquerade) ── policy route "from <pod subnet>" ──
 *     veth u<id><i>r ⇄ u<id><i>n ── host namespace (routes the pod subnet back the same way)
 *
 * so a pod's packet to a ClusterIP reaches its own host's proxy with the pod's address, and a
 * host's dial to one of its pods reaches it; hosts on one LAN share a veth link of their own;
 * hosts have no route to each other's namespace, pods or uplinks otherwise. The relay runs in the
 * root namespace on 127.0.0.1; each host reaches it through a counted link (socat in the host
 * listening on its 127.0.0.1 ports → a unix socket → this process → the relay's port), so a test
 * can tell how many bytes went between a host and the relay. Everything made here is torn down
 * (last made, first gone) after the test, whether it passed or not; names carry a random id.
 * The bench (bench/mesh.mjs) builds its hosts here too, with a Scope of its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { sh } from './harness.js';

/** what the builders need of a test's context: teardown (and skipping); bench/mesh.mjs passes its own */
export type Scope = Pick<TestContext, 'after' | 'skip'>;

export interface Host {
  /** the namespace: run a command in it with `prefix` */
  ns: string;
  prefix: string[];
  /** the Docker network its pods join (edged's `network`) */
  network: string;
  podSubnet: string;
  /** its address on each LAN it is on */
  lan: string[];
  /** its own end of its link to the root namespace, which its pods reach (their way out) */
  uplink: string;
  /** bytes between this host and the relay so far (both directions) */
  relayBytes(): number;
}

export interface Sites {
  id: string;
  hosts: Host[];
  /** run `fn` at teardown, before what was made so far */
  defer(fn: () => Promise<unknown> | unknown): void;
}

async function must(cmd: string, args: string[]): Promise<string> {
  const r = await sh(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.out}`);
  return r.out;
}

/** A free 10.<k>.0.0/16 (nothing of it routed here yet). */
async function freeOctet(): Promise<number> {
  for (;;) {
    const k = randomInt(16, 250);
    // Docker's bridges and earlier runs' links all show as routes
    if (!(await sh('ip', ['route', 'show', 'root', `10.${k}.0.0/16`])).out.trim()) return k;
  }
}

/**
 * `count` hosts; `lans` lists the hosts (by index) that share a LAN. `relayPorts` are the relay's
 * 127.0.0.1 ports each host reaches through its counted link; `dir` holds the unix sockets.
 */
export async function buildSites(t: Pick<Scope, 'after'>, o: { count: number; lans: number[][]; relayPorts: number[]; dir: string }): Promise<Sites> {
  const id = randomBytes(2).toString('hex');
  const undo: (() => Promise<unknown> | unknown)[] = [];
  t.after(async () => {
    for (const fn of undo.reverse()) {
      try {
        await fn();
      } catch {
        /* the rest still goes */
      }
    }
  });
  const k = await freeOctet();
  const table = 20_000 + randomInt(0, 10_000);
  const servers: Server[] = [];
  const children: ChildProcess[] = [];
  undo.push(() => {
    for (const c of children) c.kill('SIGKILL');
    for (const s of servers) s.close();
  });
  const hosts: Host[] = [];
  for (let i = 0; i < o.count; i++) {
    const ns = `ecm-${id}-${i}`;
    const up = `u${id}${i}`;
    const bridge = `b${id}${i}`;
    const network = `ecm-${id}-${i}`;
    const podSubnet = `10.${k}.${100 + i}.0/24`;
    const rootIp = `10.${k}.0.${4 * i + 1}`;
    const nsIp = `10.${k}.0.${4 * i + 2}`;
    await must('ip', ['netns', 'add', ns]);
    undo.push(() => sh('ip', ['netns', 'del', ns]));
    await must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    await must('ip', ['link', 'add', `${up}r`, 'type', 'veth', 'peer', 'name', `${up}n`]);
    undo.push(() => sh('ip', ['link', 'del', `${up}r`]));
    await must('ip', ['link', 'set', `${up}n`, 'netns', ns]);
    await must('ip', ['addr', 'add', `${rootIp}/30`, 'dev', `${up}r`]);
    await must('ip', ['link', 'set', `${up}r`, 'up']);
    await must('ip', ['-n', ns, 'addr', 'add', `${nsIp}/30`, 'dev', `${up}n`]);
    await must('ip', ['-n', ns, 'link', 'set', `${up}n`, 'up']);
    await must('docker', ['network', 'create', '--subnet', podSubnet, '--label', 'io.edgecore.mesh-test', '-o', `com.docker.network.bridge.name=${bridge}`, '-o', 'com.docker.network.bridge.enable_ip_masquerade=false', network]);
    undo.push(() => sh('docker', ['network', 'rm', network]));
    await must('ip', ['-n', ns, 'route', 'add', podSubnet, 'via', rootIp]);
    await must('ip', ['route', 'add', 'default', 'via', nsIp, 'dev', `${up}r`, 'table', String(table + i)]);
    await must('ip', ['rule', 'add', 'from', podSubnet, 'lookup', String(table + i), 'priority', String(table + i)]);
    undo.push(() => sh('ip', ['rule', 'del', 'from', podSubnet, 'lookup', String(table + i)]));
    for (const [from, to] of [
      [`${up}r`, bridge],
      [bridge, `${up}r`],
    ] as const) {
      await must('iptables', ['-I', 'DOCKER-USER', '-i', from, '-o', to, '-j', 'ACCEPT']);
      undo.push(() => sh('iptables', ['-D', 'DOCKER-USER', '-i', from, '-o', to, '-j', 'ACCEPT']));
    }
    // the counted link to the relay
    let bytes = 0;
    for (const port of o.relayPorts) {
      const sock = join(o.dir, `r${i}-${port}.sock`);
      const server = createServer((c) => {
        const r = connect(port, '127.0.0.1');
        c.on('data', (d: Buffer) => void (bytes += d.length));
        r.on('data', (d: Buffer) => void (bytes += d.length));
        c.pipe(r).pipe(c);
        c.on('error', () => r.destroy());
        r.on('error', () => c.destroy());
      });
      await new Promise<void>((r) => server.listen(sock, r));
      servers.push(server);
      const child = spawn('ip', ['netns', 'exec', ns, 'socat', `TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, `UNIX-CONNECT:${sock}`], { stdio: 'ignore' });
      children.push(child);
    }
    hosts.push({ ns, prefix: ['ip', 'netns', 'exec', ns], network, podSubnet, lan: [], uplink: nsIp, relayBytes: () => bytes });
  }
  for (const [l, members] of o.lans.entries()) {
    const [a, b] = members;
    if (members.length !== 2 || a === undefined || b === undefined) throw new Error('a LAN here is a link between two hosts');
    const link = `l${id}${l}`;
    await must('ip', ['link', 'add', `${link}a`, 'netns', hosts[a]!.ns, 'type', 'veth', 'peer', 'name', `${link}b`, 'netns', hosts[b]!.ns]);
    for (const [end, h, n] of [
      ['a', a, 1],
      ['b', b, 2],
    ] as const) {
      const addr = `10.${k}.${50 + l}.${n}`;
      await must('ip', ['-n', hosts[h]!.ns, 'addr', 'add', `${addr}/24`, 'dev', `${link}${end}`]);
      await must('ip', ['-n', hosts[h]!.ns, 'link', 'set', `${link}${end}`, 'up']);
      hosts[h]!.lan.push(addr);
    }
  }
  // socat listening in every host before anyone dials the relay
  for (const h of hosts) {
    for (const port of o.relayPorts) {
      for (let n = 0; ; n++) {
        if ((await sh('ip', ['netns', 'exec', h.ns, 'bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`])).code === 0 || n > 50) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
  return { id, hosts, defer: (fn) => undo.push(fn) };
}
