/**
 * A real edgerelay beside the daemon in the guest (`edgerelay.js run`, embedded broker), for the
 * "edge reaches the relay" case: the node joins it over the HTTP API like `edgecore join`, then
 * its edgehub drains the outbox to it. Read back through the relay's admin API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Fail, until } from './harness.js';

const ADMIN = 'hil-admin-token';

export interface Joined {
  node: string;
  brokerUrl: string;
  username: string;
  password: string;
}

export interface TelemetryRow {
  name: string;
  event: string;
  data: { property?: string; value?: string };
  timestamp: number;
}

export class Relay {
  private child: ChildProcess | undefined;
  private readonly configFile: string;

  constructor(
    private readonly bundle: string,
    readonly dir: string,
    readonly ports: { api: number; mqtt: number },
    private readonly logFile: string,
  ) {
    mkdirSync(dir, { recursive: true });
    this.configFile = join(dir, 'relay.yaml');
    writeFileSync(
      this.configFile,
      JSON.stringify({
        dataDir: join(dir, 'data'),
        log: { level: 'info', format: 'json' },
        // plain listeners, explicitly: relay and guest share loopback; TLS is covered by test/integration/relay
        api: { host: '127.0.0.1', port: ports.api, adminToken: ADMIN, tls: { enabled: false } },
        broker: { mode: 'embedded', host: '127.0.0.1', port: ports.mqtt, plaintext: true, tls: { enabled: false }, ws: { enabled: false } },
      }),
    );
  }

  async start(): Promise<void> {
    const log = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(process.execPath, [join(this.bundle, 'edgerelay.js'), 'run', '--config', this.configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
    let gone: number | null | undefined;
    child.on('exit', (c) => (gone = c));
    await until(
      'the relay API',
      async () => {
        if (gone !== undefined) throw new Fail(`edgerelay exited with ${gone} (see ${this.logFile})`);
        return (await fetch(`http://127.0.0.1:${this.ports.api}/healthz`)).ok ? true : undefined;
      },
      60_000,
      50,
    );
  }

  private async http<T>(method: string, path: string, body?: unknown, admin = true): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${this.ports.api}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(admin ? { authorization: `Bearer ${ADMIN}` } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`relay ${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  }

  /** A bootstrap token, then the node's join (what `edgecore join --relay --token` does). */
  async join(node: string): Promise<Joined> {
    const { token } = await this.http<{ token: string }>('POST', '/edge/v1/tokens', {});
    return this.http<Joined>('POST', '/edge/v1/join', { token, node }, false);
  }

  /** The node's newest `limit` samples, oldest first. */
  telemetry(node: string, limit = 100_000): Promise<TelemetryRow[]> {
    return this.http('GET', `/edge/v1/telemetry?node=${node}&limit=${limit}`);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(t);
  }
}
