/**
 * Real Kubernetes clients against the relay's pod subresources: @kubernetes/client-node's
 * Exec, Attach, Log and PortForward (what a Kubernetes tool would use), and a raw `ws` client
 * for what a library hides (pausing the socket, reading frames as they come).
 */
import { Attach, Exec, KubeConfig, Log, PortForward } from '@kubernetes/client-node';
import { PassThrough, Readable, Writable } from 'node:stream';
import WebSocket from 'ws';
import { ADMIN } from './harness.js';

export function kubeConfig(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'relay', server, skipTLSVerify: true }],
    users: [{ name: 'admin', token: ADMIN }],
    contexts: [{ name: 'relay', cluster: 'relay', user: 'admin' }],
    currentContext: 'relay',
  });
  return kc;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  status: { status?: string; reason?: string; message?: string; details?: { causes?: { reason?: string; message?: string }[] } };
}

function sink(): Writable & { text: () => string } {
  const parts: Buffer[] = [];
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) {
      parts.push(chunk);
      cb();
    },
  });
  return Object.assign(w, { text: () => Buffer.concat(parts).toString('utf8') });
}

/** client-node Exec, non-interactive; stdin (if given) is sent and closed. */
export async function execRun(kc: KubeConfig, pod: string, container: string, command: string[], stdin?: string): Promise<ExecResult> {
  const out = sink();
  const err = sink();
  let status: ExecResult['status'] = {};
  const input = stdin === undefined ? null : Readable.from([Buffer.from(stdin)]);
  const ws = await new Exec(kc).exec('default', pod, container, command, out, err, input, false, (s) => (status = s as ExecResult['status']));
  await new Promise<void>((r) => (ws.readyState === ws.CLOSED ? r() : ws.once('close', () => r())));
  return { stdout: out.text(), stderr: err.text(), status };
}

/** A terminal the test types into: stdout carries rows/columns so client-node sends resizes. */
export class Terminal {
  readonly out = Object.assign(new PassThrough(), { rows: 40, columns: 120 });
  readonly input = new PassThrough();
  text = '';
  status?: ExecResult['status'];
  ws?: WebSocket;
  constructor() {
    this.out.on('data', (b: Buffer) => (this.text += b.toString('utf8')));
  }
  resize(columns: number, rows: number): void {
    this.out.columns = columns;
    this.out.rows = rows;
    this.out.emit('resize');
  }
  type(s: string): void {
    this.input.write(s);
  }
  closed(): Promise<void> {
    const ws = this.ws!;
    return new Promise((r) => (ws.readyState === ws.CLOSED ? r() : ws.once('close', () => r())));
  }
}

export async function execTty(kc: KubeConfig, pod: string, container: string, command: string[]): Promise<Terminal> {
  const t = new Terminal();
  t.ws = (await new Exec(kc).exec('default', pod, container, command, t.out, null, t.input, true, (s) => (t.status = s as ExecResult['status']))) as unknown as WebSocket;
  return t;
}

export async function attachTty(kc: KubeConfig, pod: string, container: string): Promise<Terminal> {
  const t = new Terminal();
  t.ws = (await new Attach(kc).attach('default', pod, container, t.out, null, t.input, true)) as unknown as WebSocket;
  return t;
}

/** client-node Log into a string; `stop()` aborts a followed log. */
export async function logFollow(kc: KubeConfig, pod: string, container: string, opts: { follow?: boolean; tailLines?: number; previous?: boolean; timestamps?: boolean; sinceSeconds?: number }): Promise<{ text: () => string; stop: () => void; done: Promise<unknown> }> {
  const out = sink();
  let done!: (e: unknown) => void;
  const finished = new Promise((r) => (done = r));
  const ac = await new Log(kc).log('default', pod, container, out, (e) => done(e), opts);
  out.on('finish', () => done(undefined));
  return { text: out.text, stop: () => ac.abort(), done: finished };
}

export async function portForward(kc: KubeConfig, pod: string, port: number): Promise<{ input: PassThrough; text: () => string; errors: () => string; ws: WebSocket }> {
  const input = new PassThrough();
  const out = sink();
  const err = sink();
  const ws = (await new PortForward(kc).portForward('default', pod, [port], out, err, input)) as unknown as WebSocket;
  return { input, text: out.text, errors: err.text, ws };
}

/** A raw WebSocket exec (v5): frames by channel, and a socket the test can pause. */
export function rawExec(api: string, ca: string, pod: string, container: string, command: string[], protocols = ['v5.channel.k8s.io']): Promise<WebSocket> {
  const q = new URLSearchParams({ container, stdout: 'true', stderr: 'true' });
  for (const c of command) q.append('command', c);
  const ws = new WebSocket(`${api.replace(/^http/, 'ws')}/api/v1/namespaces/default/pods/${pod}/exec?${q}`, protocols, { ca, headers: { authorization: `Bearer ${ADMIN}` } });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}
