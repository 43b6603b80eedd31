/**
 * A real `edgerelay run` process serving the Kubernetes API, and the real kubectl against it
 * (binaries pinned: /usr/lib/google-cloud-sdk/bin/kubectl.1.NN) with nothing but the kubeconfig
 * `edgerelay kubeconfig` prints: HTTPS with the relay's own CA, and the admin token.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { tlsFetch } from '../../../../src/lib/tls-fetch.js';
import { ROOT } from '../../../helpers/tmp.js';
import { freePort, spawnEntry, type Proc } from '../harness.js';

export const KUBECTL_DIR = '/usr/lib/google-cloud-sdk/bin';
export const kubectlPath = (minor: number): string => join(KUBECTL_DIR, `kubectl.1.${minor}`);
export const ADMIN_TOKEN = 'kube-admin-token';
export const READ_ONLY_TOKEN = 'kube-read-only-token';

export function haveKubectl(minor: number): Promise<void> {
  return existsSync(kubectlPath(minor)) ? Promise.resolve() : Promise.reject(new Error(`${kubectlPath(minor)} missing`));
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

export class KubeRelay {
  proc?: Proc;
  url = '';
  kubeconfig = '';
  /** the relay's CA (PEM), made at its first start */
  ca = '';
  constructor(readonly dir: string) {}

  /** `extra`: more top-level sections of the relay's config (e.g. `workloads`) */
  async start(extra: Record<string, unknown> = {}): Promise<void> {
    const [api, mqtts] = [await freePort(), await freePort()];
    const config = join(this.dir, 'relay.yaml');
    writeFileSync(
      config,
      stringify({
        dataDir: join(this.dir, 'data'),
        log: { level: 'info', format: 'json' },
        api: { host: '127.0.0.1', port: api, adminToken: ADMIN_TOKEN, readOnlyToken: READ_ONLY_TOKEN },
        broker: { host: '127.0.0.1', tls: { port: mqtts }, ws: { enabled: false } },
        ...extra,
      }),
    );
    this.url = `https://127.0.0.1:${api}`;
    this.proc = spawnEntry('edgerelay', 'edgerelay', ['run', '--config', config]);
    await this.proc.record('edgerelay ready');
    this.ca = readFileSync(join(this.dir, 'data', 'pki', 'ca.crt'), 'utf8');
    // the kubeconfig as an admin gets it: CA, server, admin token
    const kc = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/edgerelay/entry.ts'), 'kubeconfig', '--config', config], { cwd: ROOT, encoding: 'utf8' });
    if (kc.status !== 0) throw new Error(`edgerelay kubeconfig: ${kc.stderr}`);
    this.kubeconfig = join(this.dir, 'kubeconfig');
    writeFileSync(this.kubeconfig, kc.stdout, { mode: 0o600 });
  }

  async stop(): Promise<void> {
    await this.proc?.stop();
  }

  private env(extra: Record<string, string>): NodeJS.ProcessEnv {
    return { PATH: process.env.PATH ?? '', HOME: this.dir, KUBECONFIG: this.kubeconfig, ...extra };
  }

  /** kubectl 1.<minor> with this relay's kubeconfig and its own discovery cache */
  kubectl(args: string[], o: { minor?: number; input?: string; env?: Record<string, string> } = {}): Run {
    const minor = o.minor ?? 32;
    const r = spawnSync(kubectlPath(minor), ['--cache-dir', join(this.dir, `cache-${minor}`), ...args], {
      cwd: this.dir,
      encoding: 'utf8',
      input: o.input ?? '',
      env: this.env(o.env ?? {}),
      timeout: 60_000,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** kubectl without blocking this process's event loop (a fake node in this process keeps working meanwhile) */
  kubectlAsync(args: string[], o: { minor?: number; input?: string } = {}): Promise<Run> {
    const minor = o.minor ?? 32;
    const child = spawn(kubectlPath(minor), ['--cache-dir', join(this.dir, `cache-${minor}`), ...args], { cwd: this.dir, env: this.env({}), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(o.input ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    return new Promise((resolve) =>
      child.once('close', (status) => {
        clearTimeout(timer);
        resolve({ status, stdout, stderr });
      }),
    );
  }

  /** kubectl left running (get -w): its output so far, and a stop */
  background(args: string[], minor = 32): { out: () => string; stop: () => Promise<number | null> } {
    const child = spawn(kubectlPath(minor), ['--cache-dir', join(this.dir, `cache-${minor}`), ...args], { cwd: this.dir, env: this.env({}), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    return {
      out: () => out,
      stop: async () => {
        if (child.exitCode === null) child.kill('SIGTERM');
        return exited;
      },
    };
  }

  /** a raw API call with a bearer token, trusting the relay's CA */
  async call(method: string, path: string, token: string | undefined, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await tlsFetch({ ca: this.ca })(this.url + path, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': contentType },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }
}

/** Write `text` to a file in `dir` and return its path. */
export function file(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
