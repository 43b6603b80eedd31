/**
 * Real processes for the application channel's tests: `edgerelay run` (embedded broker, the
 * router listener and a consumer account on), `edgecore run` (eventbus embedded, servicebus on,
 * edged with a static pod folder when asked), the real kubectl 1.32 against the relay, cloud
 * consumers on the relay's broker, and a TCP relay between node and broker that a test can cut
 * (a network outage that leaves edgecore and its apps running).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { stringify } from 'yaml';
import { writeJoinedConfig } from '../../../src/cli/edgecore/join.js';
import type Docker from 'dockerode';
import type { JoinResponse } from '../../../src/contract/api.js';
import { EDGE_PATHS } from '../../../src/contract/join.js';
import { openDatabase } from '../../../src/lib/sqlite.js';
import { freePort, spawnEntry, type Proc } from '../relay/harness.js';
import { kubectlPath } from '../relay/apiserver/kubectl.js';
import { waitFor } from '../../helpers/wait.js';

export { freePort, waitFor };

export const ADMIN = 'appchan-admin-token';
export const CONSUMER = { name: 'ingest', username: 'app.ingest', password: 'consumer-secret' };

export interface RelayOptions {
  quota?: Record<string, number>;
  delivery?: Record<string, number>;
}

export class AppRelay {
  proc?: Proc;
  readonly api: string;
  readonly mqtt: string;
  readonly router: string;
  readonly kubeconfig: string;
  private readonly config: string;

  private constructor(
    readonly dir: string,
    readonly ports: { api: number; mqtt: number; router: number },
    o: RelayOptions,
  ) {
    this.api = `http://127.0.0.1:${ports.api}`;
    this.mqtt = `mqtt://127.0.0.1:${ports.mqtt}`;
    this.router = `http://127.0.0.1:${ports.router}`;
    this.config = join(dir, 'relay.yaml');
    writeFileSync(
      this.config,
      stringify({
        dataDir: join(dir, 'relay-data'),
        log: { level: 'info', format: 'json' },
        // plain HTTP and MQTT on loopback (kubectl then sends no token: the local admin is trusted)
        api: { host: '127.0.0.1', port: ports.api, adminToken: ADMIN, insecureLocalAdmin: true, tls: { enabled: false } },
        broker: { host: '127.0.0.1', port: ports.mqtt, tls: { enabled: false }, plaintext: true, ws: { enabled: false } },
        nodes: { notReadyAfterSeconds: 5 },
        appchannel: {
          ...(o.quota ? { quota: o.quota } : {}),
          delivery: { retryInitialMs: 200, retryMaxMs: 1000, ...o.delivery },
          router: { enabled: true, host: '127.0.0.1', port: ports.router },
          consumers: [{ name: CONSUMER.name, password: CONSUMER.password, namespaces: ['*'] }],
        },
      }),
    );
    this.kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      this.kubeconfig,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'relay', cluster: { server: this.api } }],
        users: [{ name: 'admin', user: {} }],
        contexts: [{ name: 'relay', context: { cluster: 'relay', user: 'admin' } }],
        'current-context': 'relay',
      }),
    );
  }

  static async create(dir: string, o: RelayOptions = {}): Promise<AppRelay> {
    return new AppRelay(dir, { api: await freePort(), mqtt: await freePort(), router: await freePort() }, o);
  }

  async start(): Promise<void> {
    this.proc = spawnEntry('edgerelay', 'edgerelay', ['run', '--config', this.config]);
    await this.proc.record('edgerelay ready');
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.proc?.stop(signal);
    this.proc = undefined;
  }

  /** kubectl 1.32 against this relay */
  kubectl(args: string[], input = ''): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(kubectlPath(32), ['--cache-dir', join(this.dir, 'kube-cache'), ...args], {
      cwd: this.dir,
      encoding: 'utf8',
      input,
      env: { PATH: process.env.PATH ?? '', HOME: this.dir, KUBECONFIG: this.kubeconfig },
      timeout: 60_000,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** kubectl that must succeed */
  k(args: string[], input = ''): string {
    const r = this.kubectl(args, input);
    if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  async json<T>(path: string): Promise<T> {
    const res = await fetch(this.api + path, { headers: { authorization: `Bearer ${ADMIN}` } });
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  async join(node: string): Promise<JoinResponse> {
    const tok = await fetch(this.api + EDGE_PATHS.tokens, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: '{}' });
    const { token } = (await tok.json()) as { token: string };
    const res = await fetch(this.api + EDGE_PATHS.join, { method: 'POST', body: JSON.stringify({ token, node }) });
    if (!res.ok) throw new Error(`join ${node}: ${res.status} ${await res.text()}`);
    return (await res.json()) as JoinResponse;
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
  join: JoinResponse;
  /** the relay's MQTT URL the node uses (a cuttable TCP relay, say) */
  relayUrl?: string;
  staticPods?: string;
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
          eventbus: o.eventbusUrl ? { mode: 'external', url: o.eventbusUrl } : { host: '127.0.0.1', port: o.eventbusPort },
          servicebus: { enabled: true, host: '127.0.0.1', port: o.servicebusPort },
          edged: o.staticPods ? { staticPodPath: o.staticPods, resyncSeconds: 2 } : { enabled: false, staticPodPath: '' },
          devicetwin: { enabled: false },
          nodestatus: { enabled: false },
          edgehub: { heartbeatSeconds: 1, reconnect: { initialMs: 200, maxMs: 1000, jitter: 0.5 } },
        },
      }),
    );
    writeJoinedConfig(this.configFile, o.relayUrl ? { ...o.join, brokerUrl: o.relayUrl } : o.join);
  }

  get eventbus(): string {
    return this.o.eventbusUrl ?? `mqtt://127.0.0.1:${this.o.eventbusPort}`;
  }

  /** external eventbus: end the app tap's persistent session on the broker (it would outlive the test) */
  async forgetSession(): Promise<void> {
    if (!this.o.eventbusUrl) return;
    const c = await mqtt.connectAsync(this.o.eventbusUrl, { clientId: `edgecore-apps-${this.o.name}`, protocolVersion: 5, clean: true, properties: { sessionExpiryInterval: 0 }, reconnectPeriod: 0 });
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

  static async connect(url: string, filter: string, clientId = `${CONSUMER.username}-${process.pid}`): Promise<Consumer> {
    const client = await mqtt.connectAsync(url, { clientId, username: CONSUMER.username, password: CONSUMER.password, reconnectPeriod: 500 });
    const c = new Consumer(client);
    await client.subscribeAsync(filter, { qos: 1 });
    return c;
  }

  close(): Promise<void> {
    return this.client.endAsync(true);
  }
}

/** A TCP relay to `port` that a test can cut (every connection dropped, new ones refused) and restore. */
export class Cuttable {
  private readonly sockets = new Set<Socket>();
  private cut = false;
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async to(target: number): Promise<Cuttable> {
    const port = await freePort();
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
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    self = new Cuttable(server, port);
    return self;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
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
