/**
 * Real processes for the relay tests: `edgerelay run` and `edgecore run` as child processes
 * (TypeScript entries through tsx), each with its own temp folder and ports; edgectl runs
 * in-process against the relay's real HTTP API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { main as ctlMain } from '../../../src/cli/edgectl/main.js';
import type { JoinResponse } from '../../../src/contract/api.js';
import { writeJoinedConfig } from '../../../src/cli/edgecore/join.js';
import { openDatabase } from '../../../src/lib/sqlite.js';
import { ROOT } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

export { waitFor };

export const ADMIN = 'test-admin-token';

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

export function spawnEntry(name: string, entry: 'edgerelay' | 'edgecore', args: string[]): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli', entry, 'entry.ts'), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  return new Proc(name, child);
}

export interface RelayPorts {
  api: number;
  mqtt: number;
  ws: number;
}

export interface RelayOptions {
  dir: string;
  ports: RelayPorts;
  /** external broker (mosquitto) */
  external?: { url: string; password: string; passwordFile: string; aclFile: string };
}

export class RelayProc {
  proc?: Proc;
  readonly api: string;
  readonly configFile: string;
  constructor(readonly o: RelayOptions) {
    this.api = `http://127.0.0.1:${o.ports.api}`;
    this.configFile = join(o.dir, 'relay.yaml');
    writeFileSync(
      this.configFile,
      stringify({
        dataDir: join(o.dir, 'data'),
        log: { level: 'info', format: 'json' },
        api: { host: '127.0.0.1', port: o.ports.api, adminToken: ADMIN },
        broker: {
          host: '127.0.0.1',
          port: o.ports.mqtt,
          ws: { enabled: true, port: o.ports.ws },
          ...(o.external
            ? { mode: 'external', external: { url: o.external.url, username: '_relay', password: o.external.password, passwordFile: o.external.passwordFile, aclFile: o.external.aclFile } }
            : {}),
        },
        nodes: { notReadyAfterSeconds: 5 },
      }),
    );
  }

  async start(): Promise<void> {
    this.proc = spawnEntry('edgerelay', 'edgerelay', ['run', '--config', this.configFile]);
    await this.proc.record('edgerelay ready');
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.proc?.stop(signal);
    this.proc = undefined;
  }

  async http<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(this.api + path, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  }

  async token(): Promise<string> {
    return (await this.http<{ token: string }>('POST', '/edge/v1/tokens', {})).token;
  }

  /** join through the API (what `edgecore join` does) */
  async join(node: string): Promise<JoinResponse> {
    const token = await this.token();
    const res = await fetch(this.api + '/edge/v1/join', { method: 'POST', body: JSON.stringify({ token, node }) });
    if (!res.ok) throw new Error(`join ${node}: ${res.status} ${await res.text()}`);
    return (await res.json()) as JoinResponse;
  }

  /** edgectl, in-process, against the real API */
  async ctl(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    let code: number;
    try {
      code = await ctlMain(argv, { out: (s) => void (out += s), err: (s) => void (err += s), stdin: () => '', now: () => new Date() }, {
        EDGECTL_SERVER: this.api,
        EDGECTL_TOKEN: ADMIN,
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

export interface NodeOptions {
  dir: string;
  name: string;
  join: JoinResponse;
  edged?: boolean;
  devicetwin?: boolean;
  flushBatch?: number;
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
        ops: { port: 0 },
        modules: {
          metamanager: { api: { enabled: false } },
          eventbus: { enabled: false },
          edged: { enabled: o.edged ?? false, staticPodPath: '' },
          devicetwin: { enabled: o.devicetwin ?? true },
          edgehub: {
            heartbeatSeconds: 1,
            reconnect: { initialMs: 200, maxMs: 1000, jitter: 0.5 },
            ...(o.flushBatch ? { flushBatch: o.flushBatch } : {}),
          },
        },
      }),
    );
    writeJoinedConfig(this.configFile, o.join);
  }

  async start(): Promise<void> {
    this.proc = spawnEntry(this.o.name, 'edgecore', ['run', '--config', this.configFile]);
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

export const cm = (name: string, data: Record<string, string>): string =>
  JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data });
