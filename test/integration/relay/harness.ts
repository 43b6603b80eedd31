/**
 * Real processes for the relay tests: `edgerelay run` and `edgecore run` as child processes
 * (TypeScript entries through tsx), each with its own temp folder and ports; the real kubectl
 * (1.32, pinned) against the relay's HTTPS Kubernetes API with a kubeconfig carrying the relay's
 * own CA and the admin token, @kubernetes/client-node likewise, and edgectl in-process for what
 * kubectl cannot do (trusting the same CA, as a node does after `edgecore join --ca-hash`).
 */
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { stringify } from 'yaml';
import { main as ctlMain } from '../../../src/cli/edgectl/main.js';
import type { JoinResponse } from '../../../src/contract/api.js';
import { EDGE_PATHS } from '../../../src/contract/join.js';
import { tlsFetch } from '../../../src/lib/tls-fetch.js';
import { writeJoinedConfig } from '../../../src/cli/edgecore/join.js';
import { openDatabase } from '../../../src/lib/sqlite.js';
import { ROOT, tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

export { waitFor };

export const ADMIN = 'test-admin-token';
export const KUBECTL = '/usr/lib/google-cloud-sdk/bin/kubectl.1.32';

/** Fails (with the reason) when the pinned kubectl is not on this machine. */
export function haveKubectl(): Promise<void> {
  return existsSync(KUBECTL) ? Promise.resolve() : Promise.reject(new Error(`${KUBECTL} missing`));
}

export interface Run {
  code: number | null;
  out: string;
  err: string;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

export class Proc {
  readonly lines: string[] = [];
  private exited?: Promise<number | null>;
  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        this.lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    this.exited = new Promise((r) => child.once('exit', (code) => r(code)));
  }

  /** the first JSON log record with this msg */
  async record(msg: string, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    return waitFor(`${this.name}: "${msg}"\n${this.lines.slice(-20).join('\n')}`, () => {
      for (const l of this.lines) {
        if (!l.startsWith('{')) continue;
        try {
          const r = JSON.parse(l) as Record<string, unknown>;
          if (r.msg === msg) return r;
        } catch {
          /* not a record */
        }
      }
      return undefined;
    }, timeoutMs);
  }

  count(msg: string): number {
    return this.lines.filter((l) => l.includes(`"msg":"${msg}"`)).length;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited!;
  }
}

/** `prefix`: a command the entry runs under (e.g. `ip netns exec <ns>`; it must exec, keeping the pid). */
export function spawnEntry(name: string, entry: 'edgerelay' | 'edgecore', args: string[], prefix: string[] = []): Proc {
  const argv = [process.execPath, '--import', 'tsx', join(ROOT, 'src/cli', entry, 'entry.ts'), ...args];
  const [cmd, ...rest] = [...prefix, ...argv] as [string, ...string[]];
  const child = spawn(cmd, rest, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  return new Proc(name, child);
}

export interface RelayPorts {
  api: number;
  /** plain MQTT (only with `plaintext`) */
  mqtt: number;
  /** MQTT over TLS */
  mqtts: number;
  ws: number;
}

export async function relayPorts(): Promise<RelayPorts> {
  return { api: await freePort(), mqtt: await freePort(), mqtts: await freePort(), ws: await freePort() };
}

export interface RelayOptions {
  dir: string;
  ports: RelayPorts;
  /** external broker (mosquitto): the relay writes its password, ACL and (with certFile) certificate files */
  external?: { url: string; password: string; passwordFile: string; aclFile: string; certFile?: string; keyFile?: string };
  /** plain HTTP API and plain MQTT, explicitly (the refusal tests: kubectl sends no token over http://) */
  plaintext?: boolean;
  /** relay config `nodes:` settings over the test defaults */
  nodes?: Record<string, unknown>;
  /** more config, merged over the generated one (top-level sections replaced key by key) */
  extra?: Record<string, Record<string, unknown>>;
}

export class RelayProc {
  proc?: Proc;
  readonly api: string;
  readonly configFile: string;
  readonly dataDir: string;
  constructor(readonly o: RelayOptions) {
    this.api = `${o.plaintext ? 'http' : 'https'}://127.0.0.1:${o.ports.api}`;
    this.configFile = join(o.dir, 'relay.yaml');
    this.dataDir = join(o.dir, 'data');
    const config: Record<string, unknown> = {
      dataDir: this.dataDir,
      log: { level: 'info', format: 'json' },
      api: { host: '127.0.0.1', port: o.ports.api, adminToken: ADMIN, ...(o.plaintext ? { tls: { enabled: false } } : {}) },
      broker: {
        host: '127.0.0.1',
        port: o.ports.mqtt,
        tls: { port: o.ports.mqtts, ...(o.plaintext ? { enabled: false } : {}) },
        ...(o.plaintext ? { plaintext: true } : {}),
        ws: { enabled: true, port: o.ports.ws },
        ...(o.external
          ? {
              mode: 'external',
              external: {
                url: o.external.url,
                username: '_relay',
                password: o.external.password,
                passwordFile: o.external.passwordFile,
                aclFile: o.external.aclFile,
                ...(o.external.certFile ? { certFile: o.external.certFile, keyFile: o.external.keyFile } : {}),
              },
            }
          : {}),
      },
      nodes: { notReadyAfterSeconds: 5, offlineGraceSeconds: 1, ...o.nodes },
    };
    for (const [k, v] of Object.entries(o.extra ?? {})) config[k] = { ...(config[k] as object), ...v };
    writeFileSync(this.configFile, stringify(config));
  }

  /** the relay's CA (PEM), made at its first start */
  get caPem(): string {
    return readFileSync(this.caFile, 'utf8');
  }

  /** the relay's own CA, or the one configured in api.tls.caCert */
  get caFile(): string {
    return (this.o.extra?.api?.tls as { caCert?: string } | undefined)?.caCert ?? join(this.dataDir, 'pki', 'ca.crt');
  }

  /** fetch that trusts the relay's CA */
  fetch(): typeof fetch {
    return this.o.plaintext ? fetch : tlsFetch({ ca: this.caPem });
  }

  get kubeconfig(): string {
    const file = join(this.o.dir, 'kubeconfig');
    if (!existsSync(file)) {
      writeFileSync(
        file,
        stringify({
          apiVersion: 'v1',
          kind: 'Config',
          // plain HTTP (plaintext): kubectl would send no token anyway
          clusters: [{ name: 'relay', cluster: { server: this.api, ...(this.o.plaintext ? {} : { 'certificate-authority': this.caFile }) } }],
          users: [{ name: 'admin', user: this.o.plaintext ? {} : { token: ADMIN } }],
          contexts: [{ name: 'relay', context: { cluster: 'relay', user: 'admin' } }],
          'current-context': 'relay',
        }),
      );
    }
    return file;
  }

  async start(): Promise<void> {
    this.proc = spawnEntry('edgerelay', 'edgerelay', ['run', '--config', this.configFile]);
    await this.proc.record('edgerelay ready');
  }

  /** the real kubectl 1.32 against this relay (its own discovery cache) */
  kubectl(args: string[], input = ''): Run {
    const r = spawnSync(KUBECTL, ['--cache-dir', join(this.o.dir, 'kube-cache'), ...args], {
      cwd: this.o.dir,
      encoding: 'utf8',
      input,
      env: { PATH: process.env.PATH ?? '', HOME: this.o.dir, KUBECONFIG: this.kubeconfig },
      timeout: 120_000,
    });
    return { code: r.status, out: r.stdout, err: r.stderr };
  }

  /** kubectl left running (delete --wait, logs -f): its exit, its output so far, and a stop */
  kubectlBackground(args: string[]): { exited: Promise<Run>; out: () => string; stop: () => Promise<Run> } {
    const child = spawn(KUBECTL, ['--cache-dir', join(this.o.dir, 'kube-cache'), ...args], {
      cwd: this.o.dir,
      env: { PATH: process.env.PATH ?? '', HOME: this.o.dir, KUBECONFIG: this.kubeconfig },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<Run>((r) => child.once('exit', (code) => r({ code, out, err })));
    return {
      exited,
      out: () => out,
      stop: () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        return exited;
      },
    };
  }

  /** kubectl apply of a YAML text (a file in the test's folder, as a user would) */
  apply(text: string): Run {
    const f = join(this.o.dir, `m-${Date.now()}-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(f, text);
    return this.kubectl(['apply', '-f', f]);
  }

  /** an object as JSON through kubectl (undefined when it does not exist) */
  getJson<T = Record<string, unknown>>(...what: string[]): T | undefined {
    const r = this.kubectl(['get', ...what, '-o', 'json']);
    if (r.code !== 0) {
      if (/NotFound/.test(r.err)) return undefined;
      throw new Error(`kubectl get ${what.join(' ')}: ${r.err}`);
    }
    return JSON.parse(r.out) as T;
  }

  /** @kubernetes/client-node with the admin token, trusting the relay's CA */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'relay', server: this.api, ...(this.o.plaintext ? { skipTLSVerify: true } : { caFile: this.caFile }) }],
      users: [{ name: 'admin', token: ADMIN }],
      contexts: [{ name: 'relay', cluster: 'relay', user: 'admin' }],
      currentContext: 'relay',
    });
    return kc;
  }

  core(): CoreV1Api {
    return this.kubeConfig().makeApiClient(CoreV1Api);
  }

  custom(): CustomObjectsApi {
    return this.kubeConfig().makeApiClient(CustomObjectsApi);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.proc?.stop(signal);
    this.proc = undefined;
  }

  async http<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.fetch()(this.api + path, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  }

  async token(): Promise<string> {
    return (await this.http<{ token: string }>('POST', EDGE_PATHS.tokens, {})).token;
  }

  /** join through the API (what `edgecore join` does once it trusts the CA) */
  async join(node: string): Promise<Joined> {
    const token = await this.token();
    const res = await this.fetch()(this.api + EDGE_PATHS.join, { method: 'POST', body: JSON.stringify({ token, node }) });
    if (!res.ok) throw new Error(`join ${node}: ${res.status} ${await res.text()}`);
    return { ...((await res.json()) as JoinResponse), ...(this.o.plaintext ? {} : { caPem: this.caPem }) };
  }

  /** edgectl, in-process, against the real API (twin, telemetry, tokens: what kubectl cannot do) */
  async ctl(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    let code: number;
    try {
      code = await ctlMain(argv, { out: (s) => void (out += s), err: (s) => void (err += s), now: () => new Date() }, {
        EDGECTL_SERVER: this.api,
        EDGECTL_TOKEN: ADMIN,
        ...(this.o.plaintext ? {} : { EDGECTL_CA_FILE: this.caFile }),
        EDGECTL_CONFIG: '/nonexistent/edgectl.yaml',
      });
    } catch (e) {
      err += String(e);
      code = 1;
    }
    return { code, out, err };
  }

  /** the relay's telemetry rows (oldest first) */
  telemetry(node: string): Promise<{ seq: number; data: { i?: number; property?: string } }[]> {
    return this.http('GET', `/edge/v1/telemetry?node=${node}&limit=100000`);
  }
}

/** a join's answer, with the CA the node then trusts for the broker */
export type Joined = JoinResponse & { caPem?: string };

export interface NodeOptions {
  dir: string;
  name: string;
  join: Joined;
  edged?: boolean;
  /** extra keys of modules.edged (e.g. crashLoop timings) */
  edgedConfig?: Record<string, unknown>;
  devicetwin?: boolean;
  flushBatch?: number;
  /** extra keys of modules.nodestatus (e.g. periodSeconds) */
  nodestatus?: Record<string, unknown>;
  /** modules.mesh (docs/mesh.md); absent: off */
  mesh?: Record<string, unknown>;
  /** the `ops` section (default: port 0) */
  ops?: Record<string, unknown>;
  /** run edgecore under this command (e.g. `ip netns exec <ns>`: a test host of its own) */
  prefix?: string[];
}

export class NodeProc {
  proc?: Proc;
  readonly configFile: string;
  readonly dbFile: string;
  constructor(readonly o: NodeOptions) {
    this.configFile = join(o.dir, `${o.name}.yaml`);
    this.dbFile = join(o.dir, o.name, 'edgecore.db');
    writeFileSync(
      this.configFile,
      stringify({
        node: { name: o.name },
        dataDir: join(o.dir, o.name),
        log: { level: 'info', format: 'json' },
        ops: o.ops ?? { port: 0 },
        modules: {
          metamanager: { api: { enabled: false } },
          eventbus: { enabled: false },
          edged: { enabled: o.edged ?? false, staticPodPath: '', ...o.edgedConfig },
          devicetwin: { enabled: o.devicetwin ?? true },
          ...(o.nodestatus ? { nodestatus: o.nodestatus } : {}),
          ...(o.mesh ? { mesh: o.mesh } : {}),
          edgehub: {
            heartbeatSeconds: 1,
            reconnect: { initialMs: 200, maxMs: 1000, jitter: 0.5 },
            ...(o.flushBatch ? { flushBatch: o.flushBatch } : {}),
          },
        },
      }),
    );
    writeJoinedConfig(this.configFile, o.join, o.join.caPem ? { caPem: o.join.caPem } : {});
  }

  async start(): Promise<void> {
    this.proc = spawnEntry(this.o.name, 'edgecore', ['run', '--config', this.configFile], this.o.prefix);
    await this.proc.record('edgecore ready');
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.proc?.stop(signal);
    this.proc = undefined;
  }

  /** read the node's SQLite store (read-only, while it runs or not) */
  query<T>(sql: string, ...args: unknown[]): T[] {
    const db = openDatabase(this.dbFile, { readonly: true });
    try {
      return db.prepare(sql).all(...args) as T[];
    } finally {
      db.close();
    }
  }

  resources(kind: string): { name: string; spec: string; uid: string; resource_version: number; origin: string }[] {
    return this.query('SELECT name, spec, uid, resource_version, origin FROM resources WHERE kind = ? ORDER BY name', kind);
  }

  appliedVersion(): number {
    const r = this.query<{ value: string }>("SELECT value FROM meta WHERE key = 'desired.version'")[0];
    return r ? Number(r.value) : 0;
  }

  outboxRows(): number {
    return this.query<{ n: number }>('SELECT COUNT(*) AS n FROM outbox')[0]!.n;
  }
}

/** The Ready condition of a Node as kubectl shows it ('True', 'False', 'Unknown', or '' without one). */
export function nodeReady(relay: RelayProc, node: string): string {
  const r = relay.kubectl(['get', 'node', node, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
  return r.code === 0 ? r.out.trim() : '';
}

/** A database the replicas share, and where to register what must stop before it goes. */
export interface FleetDatabase {
  url: string;
  closeFirst(fn: () => Promise<void>): void;
}

/**
 * Relay replicas on one PostgreSQL database (store.kind: postgres), started one after the other
 * (the second finds the first one's tables), each in its own temp folder (`prefix` + name) with
 * its own ports, campaigning for the controllers' Lease as `relay-<name>` with short durations
 * (3 s lease, 2 s renew deadline, 0.5 s retry); each stopped before the database goes.
 * `extra`: more config per replica (an external broker, its MQTT client id).
 */
export async function startFleetRelays(
  t: Pick<TestContext, 'after'>,
  db: FleetDatabase,
  o: { prefix: string; names?: string[]; extra?: (name: string) => Record<string, Record<string, unknown>> },
): Promise<RelayProc[]> {
  const relays: RelayProc[] = [];
  for (const name of o.names ?? ['one', 'two']) {
    const dir = tmpDir(t, `${o.prefix}${name}-`);
    const election = { identity: `relay-${name}`, leaseDurationSeconds: 3, renewDeadlineSeconds: 2, retryPeriodSeconds: 0.5 };
    const r = new RelayProc({ dir, ports: await relayPorts(), extra: { store: { kind: 'postgres', url: db.url }, leaderElection: election, ...o.extra?.(name) } });
    db.closeFirst(() => r.stop());
    await r.start();
    relays.push(r);
  }
  return relays;
}
