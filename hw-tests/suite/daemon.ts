/**
 * The real edgecore daemon as a child process, its config and store, started the way the field
 * starts it: through the artifact's launcher (`<artifact>/bin/edgecore run --config FILE`) when
 * the bundle is an artifact's `lib/`, else `node <bundle>/edgecore.js run --config FILE` (dev
 * build); and the ways the suite talks to it like an app on the node would: the MetaServer (the
 * node's Kubernetes API, on its unix socket: GET /apis/devices.kubeedge.io/v1beta1/namespaces/
 * {ns}/devices/{name}), the ops endpoint's /healthz and the eventbus' MQTT broker (KubeEdge mapper
 * topics).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { openNodeStore } from '../../src/store/store.js';
import { stateKey } from '../../src/store/uplink.js';
import { Fail, until } from './harness.js';

export interface DaemonPorts {
  /** the ops endpoint (/healthz, /metrics) */
  ops: number;
  mqtt: number;
}

export interface StatusTwin {
  propertyName: string;
  reported?: { value: string; metadata?: { timestamp?: string } };
  observedDesired?: { value: string };
}
export interface DeviceStatus {
  state: string;
  lastError?: string;
  twins: StatusTwin[];
}
export interface StoredDevice {
  name: string;
  resourceVersion: number;
  status: DeviceStatus | null;
}

export type Seed = { kind: 'Device' | 'DeviceModel'; name: string; spec: unknown };

export class Daemon {
  readonly configFile: string;
  readonly dataDir: string;
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> | undefined;
  private log: WriteStream;

  constructor(
    private readonly bundle: string,
    readonly dir: string,
    readonly ports: DaemonPorts,
    devicetwin: Record<string, unknown>,
    /** where the daemon's stdout/stderr go (the results folder: it survives a hung guest) */
    readonly logFile: string,
  ) {
    mkdirSync(dir, { recursive: true });
    this.dataDir = join(dir, 'data');
    this.configFile = join(dir, 'edgecore.yaml');
    this.log = createWriteStream(logFile, { flags: 'a' });
    this.config = {
      node: { name: 'hil-node' },
      dataDir: this.dataDir,
      log: { level: process.env.HIL_DAEMON_LOG ?? 'info', format: 'json' },
      ops: { host: '127.0.0.1', port: ports.ops },
      shutdownTimeoutSeconds: 10,
      modules: {
        metamanager: { api: { host: '127.0.0.1', port: 0 } },
        eventbus: { mode: 'embedded', host: '127.0.0.1', port: ports.mqtt },
        edged: { enabled: false },
        edgehub: { enabled: false },
        devicetwin,
      },
    };
    this.writeConfig();
  }

  private readonly config: { modules: Record<string, unknown> } & Record<string, unknown>;

  private writeConfig(): void {
    // JSON is YAML: the daemon reads it as its config file
    writeFileSync(this.configFile, JSON.stringify(this.config));
  }

  /** Turn edgehub on with a relay's join answer (takes effect at the next start). */
  joinRelay(j: { brokerUrl: string; username: string; password: string }): void {
    this.config.modules.edgehub = { enabled: true, relay: { url: j.brokerUrl, username: j.username, password: j.password }, heartbeatSeconds: 5 };
    this.writeConfig();
  }

  /**
   * Put DeviceModels/Devices into the node's store before the daemon starts: the node has no relay
   * here, and devicetwin loads every stored Device on start (as after a reboot without network).
   */
  seed(objects: Seed[]): void {
    mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
    const store = openNodeStore(join(this.dataDir, 'edgecore.db'));
    try {
      for (const o of objects) {
        // stored as the whole manifest, as the relay ships it
        const manifest = { apiVersion: 'devices.kubeedge.io/v1beta1', kind: o.kind, metadata: { name: o.name, namespace: 'default' }, spec: o.spec };
        store.resources.put({ kind: o.kind, namespace: 'default', name: o.name }, manifest, { origin: 'local' });
      }
    } finally {
      store.close();
    }
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Start and wait until the local API answers; returns the ms from spawn to ready. */
  async start(): Promise<number> {
    if (this.child) throw new Error('daemon already running');
    const t0 = performance.now();
    const launcher = join(this.bundle, '..', 'bin', 'edgecore');
    const args = ['run', '--config', this.configFile];
    // the launcher must set what the runtime needs (UV_USE_IO_URING): do not hand it down from here
    const { UV_USE_IO_URING: _inherited, ...env } = process.env;
    const child = existsSync(launcher)
      ? spawn(launcher, args, { stdio: ['ignore', 'pipe', 'pipe'], env })
      : spawn(process.execPath, [join(this.bundle, 'edgecore.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout!.pipe(this.log, { end: false });
    child.stderr!.pipe(this.log, { end: false });
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    let gone: number | null | undefined;
    void this.exited.then((c) => {
      gone = c;
      if (this.child === child) this.child = undefined;
    });
    await until(
      'the daemon to answer on its ops endpoint',
      async () => {
        if (gone !== undefined) throw new Fail(`edgecore exited with ${gone} while starting (see ${this.dir}/edgecore.log)`);
        const r = await fetch(`http://127.0.0.1:${this.ports.ops}/healthz`);
        return r.ok ? true : undefined;
      },
      // a deadline, not a measure: a TCG guest on a busy host can take a minute to load the bundle
      180_000,
      50,
    );
    return Math.round(performance.now() - t0);
  }

  /** SIGTERM, and wait for the exit status; SIGKILL (and a failure) when it does not stop in time. */
  async stop(limitMs = 30_000): Promise<number | null> {
    const child = this.child;
    if (!child) return null;
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      this.exited!,
      new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), limitMs))),
    ]);
    clearTimeout(timer);
    if (code === 'hung') {
      child.kill('SIGKILL');
      await this.exited;
      this.child = undefined;
      throw new Fail(`edgecore did not exit within ${limitMs} ms of SIGTERM (killed)`);
    }
    this.child = undefined;
    return code;
  }

  async device(name: string): Promise<StoredDevice | undefined> {
    const r = await metaGet(join(this.dataDir, 'metaserver.sock'), `/apis/devices.kubeedge.io/v1beta1/namespaces/default/devices/${name}`);
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw new Error(`MetaServer: ${r.status} ${r.body}`);
    const o = JSON.parse(r.body) as { metadata: { name: string; resourceVersion: string }; status?: DeviceStatus };
    return { name: o.metadata.name, resourceVersion: Number(o.metadata.resourceVersion), status: o.status ?? null };
  }

  /** The reported value of one property, as stored by the daemon. */
  async reported(name: string, property: string): Promise<string | undefined> {
    return (await this.device(name))?.status?.twins.find((t) => t.propertyName === property)?.reported?.value;
  }

  /**
   * What the node queued upstream for a Device (the relay's copy, when one is connected): the
   * newest coalesced `reported/state` entry in the store's outbox. Read through a second
   * connection to the daemon's SQLite file (WAL: readers do not block it).
   */
  upstream(name: string): DeviceStatus | undefined {
    const store = openNodeStore(join(this.dataDir, 'edgecore.db'));
    try {
      const key = stateKey({ kind: 'Device', namespace: 'default', name });
      const e = store.outbox
        .peek(100_000)
        .filter((x) => x.key === key)
        .at(-1);
      return e ? ((JSON.parse(e.payload.toString()) as { status: DeviceStatus }).status ?? undefined) : undefined;
    } finally {
      store.close();
    }
  }

  /** what the daemon has logged so far (its stdout and stderr) */
  logText(): string {
    return readFileSync(this.logFile, 'utf8');
  }

  async state(name: string): Promise<string | undefined> {
    return (await this.device(name))?.status?.state;
  }

  close(): void {
    this.log.end();
  }
}

/**
 * GET over the MetaServer's unix socket (plain HTTP; the socket's file mode is its access control).
 * A connection per request (`agent: false`): node's global agent keeps sockets alive, and a write
 * on one the server closed as idle at that moment failed with EPIPE (CI, the armv7 artifact on the
 * emulated board, outside any retry).
 */
function metaGet(socketPath: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, agent: false, headers: { accept: 'application/json' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
