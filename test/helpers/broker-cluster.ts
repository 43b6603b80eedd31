/**
 * Clustered MQTT brokers from Debian's packages, run on loopback for tests and benches (issue 19,
 * docs/scale.md): NATS with JetStream's MQTT (`nats-server`), RabbitMQ's MQTT plugin
 * (`rabbitmq-server`), and one mosquitto as the single-broker baseline. Every member gets its own
 * ephemeral ports and data folder under `dir`; nothing system-wide is started or touched (RabbitMQ's
 * epmd runs on a private port as our own child). Members can be killed (SIGKILL) and started again.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

export type BrokerKind = 'nats' | 'rabbitmq' | 'mosquitto';

export interface BrokerCluster {
  readonly kind: BrokerKind;
  /** one MQTT URL per member (mqtt://127.0.0.1:port), in member order */
  readonly urls: string[];
  /** the process id of a member (the one holding its memory), undefined while it is down */
  pid(i: number): number | undefined;
  /** SIGKILL a member (no goodbye to its peers or clients) */
  kill(i: number): Promise<void>;
  /** start a killed member again with its data folder (it rejoins the cluster) */
  restart(i: number): Promise<void>;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const p = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(p));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

async function waitPort(port: number, what: string, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (child && child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode}) before listening on ${port}`);
    if (await portOpen(port)) return;
    await sleep(200);
  }
  throw new Error(`${what}: nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

function killChild(c: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (!c || c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    c.once('exit', () => resolve());
    c.kill(signal);
  });
}

function logTo(dir: string, name: string, c: ChildProcess): void {
  const f = join(dir, `${name}.log`);
  const write = (d: Buffer): void => {
    try {
      writeFileSync(f, d, { flag: 'a' });
    } catch {
      /* the folder is gone (the test is tearing down): the member's last words are not needed */
    }
  };
  c.stdout?.on('data', write);
  c.stderr?.on('data', write);
}

export interface ClusterOptions {
  /**
   * NATS: more settings for each member's `mqtt {}` block, e.g. `consumer_replicas: 1,
   * consumer_memory_storage: true` (bench/relay-scale.mjs measures what they change)
   */
  natsMqtt?: string;
}

/** Start the cluster of `kind` with `members` members (mosquitto: always one) under `dir`. */
export async function startBrokerCluster(kind: BrokerKind, dir: string, members = 3, opts: ClusterOptions = {}): Promise<BrokerCluster> {
  mkdirSync(dir, { recursive: true });
  if (kind === 'nats') return startNats(dir, members, opts);
  if (kind === 'rabbitmq') return startRabbit(dir, members);
  return startMosquitto(dir);
}

async function startMosquitto(dir: string): Promise<BrokerCluster> {
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location ${dir}/\nmax_queued_messages 100000\n`);
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    child = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    logTo(dir, 'mosquitto', child);
    await waitPort(port, 'mosquitto', 15_000, child);
  };
  await start();
  return {
    kind: 'mosquitto',
    urls: [`mqtt://127.0.0.1:${port}`],
    pid: () => (child?.exitCode === null ? child.pid : undefined),
    kill: () => killChild(child),
    restart: start,
    stop: () => killChild(child, 'SIGTERM'),
  };
}

/**
 * NATS: every member a JetStream server with the MQTT listener; MQTT's streams (sessions, retained
 * messages, QoS 1 messages) replicated on all three (`stream_replicas`).
 */
async function startNats(dir: string, members: number, opts: ClusterOptions): Promise<BrokerCluster> {
  const ports = await Promise.all(Array.from({ length: members }, async () => ({ client: await freePort(), route: await freePort(), mqtt: await freePort() })));
  const routes = ports.map((p) => `nats-route://127.0.0.1:${p.route}`).join(', ');
  const children: (ChildProcess | undefined)[] = [];
  const confs = ports.map((p, i) => {
    const f = join(dir, `n${i}.conf`);
    writeFileSync(
      f,
      [
        `server_name: n${i}`,
        `listen: 127.0.0.1:${p.client}`,
        `jetstream { store_dir: "${join(dir, `n${i}`)}", max_memory_store: 256MB, max_file_store: 2GB }`,
        `cluster { name: edgecore, listen: 127.0.0.1:${p.route}, routes: [${routes}] }`,
        `mqtt { listen: 127.0.0.1:${p.mqtt}, stream_replicas: ${Math.min(3, members)}${opts.natsMqtt ? `, ${opts.natsMqtt}` : ''} }`,
        '',
      ].join('\n'),
    );
    return f;
  });
  const start = async (i: number): Promise<void> => {
    const c = spawn('nats-server', ['-c', confs[i]!], { stdio: ['ignore', 'pipe', 'pipe'] });
    children[i] = c;
    logTo(dir, `n${i}`, c);
    await waitPort(ports[i]!.mqtt, `nats member n${i}`, 30_000, c);
  };
  await Promise.all(ports.map((_, i) => start(i)));
  return {
    kind: 'nats',
    urls: ports.map((p) => `mqtt://127.0.0.1:${p.mqtt}`),
    pid: (i) => (children[i]?.exitCode === null ? children[i]!.pid : undefined),
    kill: (i) => killChild(children[i]),
    restart: (i) => start(i),
    stop: async () => void (await Promise.all(children.map((c) => killChild(c, 'SIGTERM')))),
  };
}

const RABBIT = '/usr/lib/rabbitmq/bin/rabbitmq-server';
const RABBITMQCTL = '/usr/sbin/rabbitmqctl';

/**
 * RabbitMQ: members r0..r2 on a private epmd port, joined into one cluster with rabbitmqctl; MQTT
 * sessions in quorum queues (replicated), partitions handled by pausing the minority.
 */
async function startRabbit(dir: string, members: number): Promise<BrokerCluster> {
  if (!existsSync(RABBIT)) throw new Error('rabbitmq-server is not installed');
  const tag = Math.random().toString(36).slice(2, 8);
  const cookie = `EDGECORE${tag.toUpperCase()}`;
  const epmdPort = await freePort();
  const epmd = spawn('epmd', ['-port', String(epmdPort)], { stdio: 'ignore' });
  await waitPort(epmdPort, 'epmd', 10_000, epmd);
  writeFileSync(join(dir, 'plugins'), '[rabbitmq_mqtt].\n');
  const ports = await Promise.all(Array.from({ length: members }, async () => ({ amqp: await freePort(), mqtt: await freePort(), dist: await freePort() })));
  const node = (i: number): string => `r${i}-${tag}@localhost`;
  const env = (i: number): NodeJS.ProcessEnv => ({
    ...process.env,
    HOME: join(dir, `r${i}`),
    ERL_EPMD_PORT: String(epmdPort),
    RABBITMQ_NODENAME: node(i),
    RABBITMQ_CONFIG_FILE: join(dir, `r${i}.conf`),
    RABBITMQ_MNESIA_BASE: join(dir, `r${i}`, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, `r${i}`, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'plugins'),
    RABBITMQ_DIST_PORT: String(ports[i]!.dist),
    RABBITMQ_PID_FILE: join(dir, `r${i}`, 'pid'),
    RABBITMQ_SERVER_ERL_ARGS: `-setcookie ${cookie}`,
  });
  const ctl = (i: number, ...args: string[]): Promise<unknown> =>
    promisify(execFile)(RABBITMQCTL, ['--erlang-cookie', cookie, '-n', node(i), ...args], { env: env(i), timeout: 120_000 });
  const children: (ChildProcess | undefined)[] = [];
  // the script is a shell that runs beam.smp as its child: the member is the pid in its pid file
  const beam = (i: number): number | undefined => {
    if (children[i]?.exitCode !== null) return undefined;
    const f = join(dir, `r${i}`, 'pid');
    const pid = existsSync(f) ? Number(readFileSync(f, 'utf8').trim()) : NaN;
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  };
  const killMember = async (i: number, signal: NodeJS.Signals): Promise<void> => {
    const pid = beam(i);
    if (pid) process.kill(pid, signal);
    await killChild(children[i], signal === 'SIGKILL' ? 'SIGKILL' : 'SIGTERM');
    rmSync(join(dir, `r${i}`, 'pid'), { force: true });
  };
  const start = async (i: number): Promise<void> => {
    mkdirSync(join(dir, `r${i}`), { recursive: true });
    writeFileSync(
      join(dir, `r${i}.conf`),
      [
        `listeners.tcp.default = 127.0.0.1:${ports[i]!.amqp}`,
        `mqtt.listeners.tcp.default = 127.0.0.1:${ports[i]!.mqtt}`,
        'mqtt.durable_queue_type = quorum',
        'loopback_users = none',
        'cluster_partition_handling = pause_minority',
        '',
      ].join('\n'),
    );
    const c = spawn(RABBIT, [], { env: env(i), stdio: ['ignore', 'pipe', 'pipe'] });
    children[i] = c;
    logTo(dir, `r${i}`, c);
    await waitPort(ports[i]!.mqtt, `rabbitmq member ${node(i)}`, 120_000, c);
  };
  await Promise.all(ports.map((_, i) => start(i)));
  for (let i = 1; i < members; i++) {
    await ctl(i, 'stop_app');
    await ctl(i, 'join_cluster', node(0));
    await ctl(i, 'start_app');
    await waitPort(ports[i]!.mqtt, `rabbitmq member ${node(i)} after joining`, 120_000, children[i]);
  }
  return {
    kind: 'rabbitmq',
    urls: ports.map((p) => `mqtt://127.0.0.1:${p.mqtt}`),
    pid: beam,
    kill: (i) => killMember(i, 'SIGKILL'),
    restart: (i) => start(i),
    stop: async () => {
      await Promise.all(children.map((_, i) => killMember(i, 'SIGTERM')));
      await killChild(epmd, 'SIGTERM');
    },
  };
}
