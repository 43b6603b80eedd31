/**
 * A FAKE container engine for edged's unit tests: containers live in a Map, labels are kept as
 * given and read back the way the Docker adapter reads them. It records every call, can fail a
 * call once, and can hold any call until the test releases it (to see what runs concurrently).
 * The real engine is covered by test/integration/edged.
 */
import { PassThrough, type Readable } from 'node:stream';
import { LABEL, type Role } from '../../../src/modules/edged/labels.js';
import type { CreateOptions } from '../../../src/modules/edged/dockerspec.js';
import type { ContainerEngine, ExecResult } from '../../../src/modules/edged/engine.js';
import type { EngineState, ObservedContainer } from '../../../src/modules/edged/model.js';

export interface FakeContainer {
  id: string;
  name: string;
  opts: CreateOptions;
  state: EngineState;
  exitCode: number;
  startedAt?: string;
  finishedAt?: string;
  ip?: string;
}

type Op = 'observe' | 'imagePresent' | 'pull' | 'create' | 'start' | 'stop' | 'remove' | 'exec';

export class FakeEngine implements ContainerEngine {
  readonly containers = new Map<string, FakeContainer>();
  readonly images = new Set<string>();
  /** every call, in order: "create <name>", "stop <name> 30", "pull <image> <auth json>"... */
  readonly calls: string[] = [];
  private readonly failOnce = new Map<string, Error>();
  private readonly holds = new Map<string, { release: () => void; reached: Promise<void>; gate: Promise<void>; arrived: () => void }>();
  private seq = 0;
  private ipSeq = 1;
  /** what any call throws while set (engine unreachable) */
  down?: Error;

  constructor(
    readonly node = 'fake-node',
    private readonly clock: () => number = Date.now,
  ) {}

  /** The next call whose record starts with `prefix` fails with `err`. */
  failNext(prefix: string, err: Error): void {
    this.failOnce.set(prefix, err);
  }

  /**
   * Calls whose record starts with `prefix` wait until released. `reached` resolves when one
   * arrives.
   */
  hold(prefix: string): { release: () => void; reached: Promise<void> } {
    let release!: () => void;
    let arrived!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const reached = new Promise<void>((r) => (arrived = r));
    const h = { release, reached, gate, arrived };
    this.holds.set(prefix, h);
    return { release: () => (this.holds.delete(prefix), release()), reached };
  }

  private async call(op: Op, record: string): Promise<void> {
    if (this.down) throw this.down;
    const line = `${op}${record ? ` ${record}` : ''}`;
    this.calls.push(line);
    for (const [p, err] of this.failOnce) {
      if (line.startsWith(p)) {
        this.failOnce.delete(p);
        throw err;
      }
    }
    for (const [p, h] of this.holds) {
      if (line.startsWith(p)) {
        h.arrived();
        await h.gate;
      }
    }
  }

  private byId(id: string): FakeContainer {
    const c = this.containers.get(id);
    if (!c) throw Object.assign(new Error(`no such container: ${id}`), { statusCode: 404 });
    return c;
  }

  byName(name: string): FakeContainer | undefined {
    return [...this.containers.values()].find((c) => c.name === name);
  }

  /** A container ends by itself (exit code, finishedAt now). */
  exit(name: string, code: number): void {
    const c = this.byName(name)!;
    c.state = 'exited';
    c.exitCode = code;
    c.finishedAt = new Date(this.clock()).toISOString();
  }

  async ping(): Promise<void> {
    if (this.down) throw this.down;
  }

  async observe(): Promise<ObservedContainer[]> {
    await this.call('observe', '');
    return [...this.containers.values()]
      .filter((c) => c.opts.Labels?.[LABEL.node] === this.node)
      .map((c) => {
        const l = c.opts.Labels ?? {};
        return {
          id: c.id,
          dockerName: c.name,
          podUid: l[LABEL.podUid] ?? '',
          namespace: l[LABEL.namespace] ?? '',
          podName: l[LABEL.podName] ?? '',
          role: (l[LABEL.role] ?? 'app') as Role,
          container: l[LABEL.container] ?? '',
          attempt: Number(l[LABEL.attempt] ?? 0),
          restarts: Number(l[LABEL.restarts] ?? l[LABEL.attempt] ?? 0),
          hash: l[LABEL.hash] ?? '',
          graceSeconds: Number(l[LABEL.grace] ?? 10),
          image: c.opts.Image ?? '',
          imageId: `sha256:${c.opts.Image}`,
          state: c.state,
          exitCode: c.exitCode,
          oomKilled: false,
          error: '',
          ...(c.startedAt ? { startedAt: c.startedAt } : {}),
          ...(c.finishedAt ? { finishedAt: c.finishedAt } : {}),
          ...(c.ip ? { ip: c.ip } : {}),
        };
      });
  }

  async imagePresent(ref: string): Promise<boolean> {
    await this.call('imagePresent', ref);
    return this.images.has(ref);
  }

  async pull(ref: string, auth: object | undefined): Promise<void> {
    await this.call('pull', `${ref}${auth ? ` ${JSON.stringify(auth)}` : ''}`);
    this.images.add(ref);
  }

  async create(opts: CreateOptions): Promise<string | undefined> {
    await this.call('create', opts.name ?? '');
    if (opts.name && this.byName(opts.name)) return undefined;
    const id = `c${++this.seq}`;
    this.containers.set(id, { id, name: opts.name ?? id, opts, state: 'created', exitCode: 0 });
    return id;
  }

  async start(id: string): Promise<void> {
    const c = this.byId(id);
    await this.call('start', c.name);
    c.state = 'running';
    c.startedAt = new Date(this.clock()).toISOString();
    if (c.opts.HostConfig?.NetworkMode === 'bridge') c.ip = `10.0.0.${this.ipSeq++}`;
  }

  async stop(id: string, graceSeconds: number): Promise<void> {
    const c = this.containers.get(id);
    await this.call('stop', `${c?.name ?? id} ${graceSeconds}`);
    if (!c || c.state !== 'running') return;
    c.state = 'exited';
    c.exitCode = 137;
    c.finishedAt = new Date(this.clock()).toISOString();
  }

  async remove(id: string): Promise<void> {
    const c = this.containers.get(id);
    await this.call('remove', c?.name ?? id);
    this.containers.delete(id);
  }

  async events(_onEvent: (action: string, id: string) => void, signal: AbortSignal): Promise<void> {
    await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
  }

  async logs(): Promise<Readable> {
    const p = new PassThrough();
    p.end();
    return p;
  }

  async exec(id: string, cmd: string[]): Promise<ExecResult> {
    await this.call('exec', `${this.byId(id).name} ${cmd.join(' ')}`);
    return { exitCode: 0, stdout: '', stderr: '' };
  }
}
