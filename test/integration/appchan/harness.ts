/**
 * Real processes for the application channel's tests: `edgerelay run` as shipped (HTTPS API and
 * MQTT over TLS from the relay's own CA, through the relay tests' RelayProc; the router listener
 * and a consumer account on), `edgecore run` (eventbus embedded or on mosquitto, servicebus on,
 * edged with a static pod folder when asked), the real kubectl 1.32 against the relay with the
 * admin token and the CA, and cloud consumers on the relay's broker trusting the same CA.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { stringify } from 'yaml';
import { writeJoinedConfig } from '../../../src/cli/edgecore/join.js';
import type Docker from 'dockerode';
import { openDatabase } from '../../../src/lib/sqlite.js';
import { ADMIN, freePort, RelayProc, relayPorts, spawnEntry, type Joined, type Proc, type RelayPorts } from '../relay/harness.js';
import { waitFor } from '../../helpers/wait.js';

export { ADMIN, freePort, waitFor };

export const CONSUMER = { name: 'ingest', username: 'app.ingest', password: 'consumer-secret' };

export interface RelayOptions {
  quota?: Record<string, number>;
  delivery?: Record<string, number>;
}

export class AppRelay {
  readonly base: RelayProc;
  readonly router: string;

  private constructor(
    readonly dir: string,
    readonly ports: RelayPorts & { router: number },
    o: RelayOptions,
  ) {
    this.base = new RelayProc({
      dir,
      ports,
      extra: {
        appchannel: {
          ...(o.quota ? { quota: o.quota } : {}),
          delivery: { retryInitialMs: 200, retryMaxMs: 1000, ...o.delivery },
          router: { enabled: true, host: '127.0.0.1', port: ports.router },
          consumers: [{ name: CONSUMER.name, password: CONSUMER.password, namespaces: ['*'] }],
        },
      },
    });
    // the router listener serves HTTPS with the API's certificate
    this.router = `https://127.0.0.1:${ports.router}`;
  }

  static async create(dir: string, o: RelayOptions = {}): Promise<AppRelay> {
    return new AppRelay(dir, { ...(await relayPorts()), router: await freePort() }, o);
  }

  get proc(): Proc | undefined {
    return this.base.proc;
  }

  get api(): string {
    return this.base.api;
  }

  /** the relay's broker, MQTT over TLS */
  get mqtt(): string {
    return `mqtts://127.0.0.1:${this.ports.mqtts}`;
  }

  /** the relay's CA (PEM): what nodes, consumers and HTTP callers trust */
  get caPem(): string {
    return this.base.caPem;
  }

  /** fetch trusting the relay's CA (the API and the router listener) */
  get fetch(): typeof fetch {
    return this.base.fetch();
  }

  start(): Promise<void> {
    return this.base.start();
  }

  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    return this.base.stop(signal);
  }

  /** kubectl 1.32 that must succeed (the admin token, the relay's CA) */
  k(args: string[], input = ''): string {
    const file = input ? join(this.dir, `in-${Date.now()}-${Math.random().toString(36).slice(2)}.yaml`) : undefined;
    if (file) writeFileSync(file, input);
    const r = this.base.kubectl(file ? args.map((a) => (a === '-' ? file : a)) : args);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.err}`);
    return r.out;
  }

  json<T>(path: string): Promise<T> {
    return this.base.http<T>('GET', path);
  }

  join(node: string): Promise<Joined> {
    return this.base.join(node);
  }

  /** the Node's Ready condition through the Kubernetes API ('True' while the node link hears it, 'Unknown' once it left) */
  async nodeReady(node: string): Promise<string> {
    const n = await this.json<{ status?: { conditions?: { type: string; status: string }[] } }>(`/api/v1/nodes/${node}`);
    return n.status?.conditions?.find((c) => c.type === 'Ready')?.status ?? '';
  }

  /** a rule's status */
  async ruleStatus(namespace: string, name: string): Promise<Record<string, unknown>> {
    const r = await this.json<{ status?: Record<string, unknown> }>(`/apis/rules.kubeedge.io/v1/namespaces/${namespace}/rules/${name}`);
    return r.status ?? {};
  }
}

export interface NodeOptions {
  dir: string;
  name: string;
  join: Joined;
  /** the relay's MQTT URL the node uses instead of the one its join gave (a cuttable TCP relay) */
  relayUrl?: string;
  staticPods?: string;
  /** edged on Docker for the pods the API places on the node */
  edged?: boolean;
  /** the node's eventbus on an external broker (mosquitto) at this URL instead of its embedded one */
  eventbusUrl?: string;
  eventbusPort: number;
  servicebusPort: number;
}

export class AppNode {
  proc?: Proc;
  readonly configFile: string;
  readonly dbFile: string;

  constructor(readonly o: NodeOptions) {
    mkdirSync(o.dir, { recursive: true });
    this.configFile = join(o.dir, `${o.name}.yaml`);
    this.dbFile = join(o.dir, o.name, 'edgecore.db');
    writeFileSync(
      this.configFile,
      stringify({
        node: { name: o.name },
        dataDir: join(o.dir, o.name),
        log: { level: 'info', format: 'json' },
        ops: { port: 0 },
        modules: {
          metamanager: { api: { enabled: false } },
          // on a shared mosquitto: this test's own tap session, dropped by the broker 5 minutes after a test that died without forgetSession()
          eventbus: o.eventbusUrl ? { mode: 'external', url: o.eventbusUrl, appSessionId: this.sessionId, appSessionExpirySeconds: 300 } : { host: '127.0.0.1', port: o.eventbusPort },
          servicebus: { enabled: true, host: '127.0.0.1', port: o.servicebusPort },
          edged: o.staticPods ? { staticPodPath: o.staticPods, resyncSeconds: 2 } : o.edged ? { staticPodPath: '', resyncSeconds: 2 } : { enabled: false, staticPodPath: '' },
          devicetwin: { enabled: false },
          nodestatus: { enabled: false },
          edgehub: { heartbeatSeconds: 1, reconnect: { initialMs: 200, maxMs: 1000, jitter: 0.5 } },
        },
      }),
    );
    writeJoinedConfig(this.configFile, o.relayUrl ? { ...o.join, brokerUrl: o.relayUrl } : o.join, o.join.caPem ? { caPem: o.join.caPem } : {});
  }

  get eventbus(): string {
    return this.o.eventbusUrl ?? `mqtt://127.0.0.1:${this.o.eventbusPort}`;
  }

  /** the app tap's session on an external eventbus (modules.eventbus.appSessionId): unique to this test, as the node name is */
  get sessionId(): string {
    return `appchan-test-${this.o.name}`;
  }

  /** external eventbus: end the app tap's persistent session on the broker (as docs/appchannel.md says to for a node that is gone) */
  async forgetSession(): Promise<void> {
    if (!this.o.eventbusUrl) return;
    const c = await mqtt.connectAsync(this.o.eventbusUrl, { clientId: this.sessionId, protocolVersion: 5, clean: true, properties: { sessionExpiryInterval: 0 }, reconnectPeriod: 0 });
    await c.endAsync();
  }

  get servicebus(): string {
    return `http://127.0.0.1:${this.o.servicebusPort}`;
  }

  async start(): Promise<void> {
    this.proc = spawnEntry(this.o.name, 'edgecore', ['run', '--config', this.configFile]);
    await this.proc.record('edgecore ready');
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.proc?.stop(signal);
    this.proc = undefined;
  }

  query<T>(sql: string, ...args: unknown[]): T[] {
    const db = openDatabase(this.dbFile, { readonly: true });
    try {
      return db.prepare(sql).all(...args) as T[];
    } finally {
      db.close();
    }
  }

  /** the app messages queued in the outbox (payloads parsed) */
  appRows(): { seq: number; topic: string; payload?: string }[] {
    try {
      return this.query<{ seq: number; payload: Buffer }>("SELECT seq, payload FROM outbox WHERE class = 'app' ORDER BY seq").map((r) => ({ seq: r.seq, ...(JSON.parse(r.payload.toString()) as { topic: string; payload?: string }) }));
    } catch {
      return [];
    }
  }

  /** the routes the relay sent (filters), or undefined */
  routes(): string[] | undefined {
    try {
      const r = this.query<{ value: string }>("SELECT value FROM meta WHERE key = 'app.routes'")[0];
      return r ? (JSON.parse(r.value) as { filters: string[] }).filters : undefined;
    } catch {
      return undefined;
    }
  }
}

/** A consumer on the relay's broker, collecting what it receives. */
export class Consumer {
  readonly got: { topic: string; payload: string }[] = [];
  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload) => this.got.push({ topic, payload: payload.toString() }));
  }

  static async connect(relay: AppRelay, filter: string, clientId = `${CONSUMER.username}-${process.pid}`): Promise<Consumer> {
    const client = await mqtt.connectAsync(relay.mqtt, { clientId, username: CONSUMER.username, password: CONSUMER.password, ca: relay.caPem, reconnectPeriod: 500 });
    const c = new Consumer(client);
    await client.subscribeAsync(filter, { qos: 1 });
    return c;
  }

  close(): Promise<void> {
    return this.client.endAsync(true);
  }
}

/**
 * A TCP relay to `port` that a test can cut (every connection dropped, new ones refused) and
 * restore: a network outage between node and relay that leaves both running. TLS passes through
 * it untouched (the certificate names 127.0.0.1, whatever the port).
 */
export class Cuttable {
  private readonly sockets = new Set<Socket>();
  private cut = false;
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async to(target: number): Promise<Cuttable> {
    let self: Cuttable | undefined;
    const server = createServer((a) => {
      if (self!.cut) return a.destroy();
      const b = connect(target, '127.0.0.1');
      self!.sockets.add(a);
      self!.sockets.add(b);
      const drop = (): void => {
        a.destroy();
        b.destroy();
        self!.sockets.delete(a);
        self!.sockets.delete(b);
      };
      a.on('error', drop).on('close', drop);
      b.on('error', drop).on('close', drop);
      a.pipe(b);
      b.pipe(a);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    self = new Cuttable(server, (server.address() as AddressInfo).port);
    return self;
  }

  /** the relay's broker through this relay (MQTT over TLS) */
  get url(): string {
    return `mqtts://127.0.0.1:${this.port}`;
  }

  down(): void {
    this.cut = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  up(): void {
    this.cut = false;
  }

  close(): Promise<void> {
    this.down();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** KubeEdge-style YAML for a namespace's endpoints and rules (flow-style maps, as KubeEdge's docs write them). */
export function yamlDocs(...docs: string[]): string {
  return docs.map((d) => d.trim()).join('\n---\n') + '\n';
}

/** The JSON lines a pod's container printed (docker's multiplexed log frames unwrapped). */
export async function containerLines(docker: Docker, node: string, pod: string, container: string): Promise<{ event: string; [k: string]: unknown }[]> {
  const [c] = await docker.listContainers({ all: true, filters: { label: [`io.edgecore.node=${node}`, `io.edgecore.pod.name=${pod}`, `io.edgecore.container=${container}`] } });
  if (!c) return [];
  const raw = (await docker.getContainer(c.Id).logs({ stdout: true, stderr: true })) as Buffer;
  let text = '';
  for (let i = 0; i + 8 <= raw.length; ) {
    const n = raw.readUInt32BE(i + 4);
    text += raw.subarray(i + 8, i + 8 + n).toString('utf8');
    i += 8 + n;
  }
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { event: string });
}
