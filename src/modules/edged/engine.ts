/**
 * The Docker engine adapter (the Engine API over the configured socket). Reads only containers
 * that carry `io.edgecore.managed=true` and this node's label; every write names a container id
 * we observed or created.
 */
import { PassThrough, Transform, type Duplex, type Readable, type TransformCallback } from 'node:stream';
import { hasStatus } from '../../core/errors.js';
import { DockerApi, eachJsonLine } from './docker-api.js';
import type { CreateOptions } from './dockerspec.js';
import { LABEL, MANAGED_FILTER, nodeFilter, type Role } from './labels.js';
import type { EngineState, ObservedContainer } from './model.js';

/**
 * Splits Docker's multiplexed stdout/stderr frames (8-byte headers: stream, 0, 0, 0, size) into
 * plain bytes, or with `frames` into `{stream, data}` objects (1 stdout, 2 stderr).
 */
export class Demux extends Transform {
  private buf: Buffer = Buffer.alloc(0);
  constructor(private readonly frames = false) {
    super(frames ? { readableObjectMode: true } : {});
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= 8) {
      const size = this.buf.readUInt32BE(4);
      if (this.buf.length < 8 + size) break;
      const data = this.buf.subarray(8, 8 + size);
      this.push(this.frames ? { stream: this.buf[0], data } : data);
      this.buf = this.buf.subarray(8 + size);
    }
    cb();
  }
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface LogOptions {
  tail?: number;
  sinceSeconds?: number;
  follow?: boolean;
  timestamps?: boolean;
  tty?: boolean;
}

/** What edged needs from a container engine (the Docker adapter below; fakes in unit tests). */
export interface ContainerEngine {
  readonly node: string;
  /** resolves when the engine answers */
  ping(): Promise<void>;
  observe(): Promise<ObservedContainer[]>;
  imagePresent(ref: string): Promise<boolean>;
  pull(ref: string, auth: object | undefined, onProgress: (status: string) => void): Promise<void>;
  /** the new container's id, or undefined when a container of that name already exists */
  create(opts: CreateOptions): Promise<string | undefined>;
  start(id: string): Promise<void>;
  stop(id: string, graceSeconds: number): Promise<void>;
  remove(id: string): Promise<void>;
  events(onEvent: (action: string, id: string) => void, signal: AbortSignal): Promise<void>;
  logs(id: string, o: LogOptions): Promise<Readable>;
  exec(id: string, cmd: string[], stdin: string | undefined, timeoutMs: number): Promise<ExecResult>;
}

/** What an interactive session opens: an exec in a running container. */
export interface ExecOpen {
  cmd: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** What an exec shows about itself (`GET /exec/{id}/json`). */
export interface ExecState {
  Running: boolean;
  ExitCode: number | null;
  Pid: number;
}

/**
 * The engine calls behind interactive sessions (edged/sessions.ts): each returns the engine's
 * connection, taken over (HTTP upgrade), in both directions — stdin written, the output read.
 */
export interface SessionEngine {
  observe(): Promise<ObservedContainer[]>;
  /** create an exec and start it attached; its id and the connection */
  execOpen(id: string, o: ExecOpen): Promise<{ execId: string; io: Duplex }>;
  execInspect(execId: string): Promise<ExecState>;
  execResize(execId: string, width: number, height: number): Promise<void>;
  /** a container's terminal settings (Config.Tty, Config.OpenStdin) */
  terminal(id: string): Promise<{ tty: boolean; openStdin: boolean }>;
  attach(id: string, o: { stdin: boolean; stdout: boolean; stderr: boolean }): Promise<Duplex>;
  resize(id: string, width: number, height: number): Promise<void>;
}

/** The parts of `GET /containers/{id}/json` edged reads. */
interface Inspect {
  Id: string;
  Name: string;
  Created: string;
  Image: string;
  Config: { Image: string; Labels?: Record<string, string> | null; Tty?: boolean; OpenStdin?: boolean };
  State: { Status: string; Pid?: number; ExitCode: number; OOMKilled: boolean; Error?: string; StartedAt?: string; FinishedAt?: string };
  NetworkSettings: { Networks?: Record<string, { IPAddress?: string }> | null };
}

const CACHEABLE = new Set(['running', 'exited', 'dead']);

export class Engine implements ContainerEngine, SessionEngine {
  private readonly api: DockerApi;
  private readonly filters: string;
  /**
   * Inspections of settled containers (running, exited, dead) by id and state: a container's
   * inspect does not change while its listed state does not, so each pass lists every container
   * (the engine stays the truth) and inspects only those that changed.
   * The list's state lags the events, though: Docker (20.10) sends a container's `die` while its
   * list still says "running" (its inspect already says "exited"). So an event drops the
   * container's inspection, and an inspection begun before an event is not kept.
   */
  private readonly inspected = new Map<string, { state: string; c: ObservedContainer }>();
  /** container events seen so far (see `inspected`) */
  private eventCount = 0;

  constructor(socketPath: string, readonly node: string) {
    this.api = new DockerApi(socketPath);
    this.filters = JSON.stringify({ label: [MANAGED_FILTER, nodeFilter(node)] });
  }

  async ping(): Promise<void> {
    await this.api.call({ method: 'GET', path: '/_ping' });
  }

  /** Every container we own, inspected (state, exit code, times, IP). */
  async observe(): Promise<ObservedContainer[]> {
    const events = this.eventCount;
    const list = await this.api.json<{ Id: string; State: string }[]>({ method: 'GET', path: '/containers/json', query: { all: true, filters: this.filters } });
    const out: ObservedContainer[] = [];
    const seen = new Set<string>();
    for (const item of list) {
      seen.add(item.Id);
      const hit = this.inspected.get(item.Id);
      if (hit && hit.state === item.State) {
        out.push(hit.c);
        continue;
      }
      try {
        const c = toObserved(await this.api.json<Inspect>({ method: 'GET', path: `/containers/${item.Id}/json` }));
        if (CACHEABLE.has(item.State) && c.state === item.State && events === this.eventCount) this.inspected.set(item.Id, { state: item.State, c });
        else this.inspected.delete(item.Id);
        out.push(c);
      } catch (e) {
        if (!hasStatus(e, 404)) throw e; // removed meanwhile
      }
    }
    for (const id of this.inspected.keys()) if (!seen.has(id)) this.inspected.delete(id);
    return out;
  }

  async imagePresent(ref: string): Promise<boolean> {
    try {
      await this.api.call({ method: 'GET', path: `/images/${ref}/json` });
      return true;
    } catch (e) {
      if (hasStatus(e, 404)) return false;
      throw e;
    }
  }

  /** Pull an image; `onProgress` hears the engine's progress lines. Rejects with the engine's message. */
  async pull(ref: string, auth: object | undefined, onProgress: (status: string) => void): Promise<void> {
    const headers = auth ? { 'x-registry-auth': Buffer.from(JSON.stringify(auth)).toString('base64url') } : undefined;
    const res = await this.api.stream({ method: 'POST', path: '/images/create', query: { fromImage: ref }, ...(headers ? { headers } : {}) });
    let failed: string | undefined;
    await eachJsonLine(res, (ev) => {
      if (typeof ev.error === 'string') failed = ev.error;
      else onProgress([ev.id, ev.status, ev.progress].filter((x) => typeof x === 'string').join(' '));
    });
    if (failed) throw new Error(failed);
  }

  async create(opts: CreateOptions): Promise<string | undefined> {
    const { name, ...body } = opts;
    try {
      return (await this.api.json<{ Id: string }>({ method: 'POST', path: '/containers/create', query: { name }, body })).Id;
    } catch (e) {
      if (hasStatus(e, 409)) return undefined; // same deterministic name: made by an earlier, interrupted run
      throw e;
    }
  }

  async start(id: string): Promise<void> {
    await this.api.call({ method: 'POST', path: `/containers/${id}/start` }); // 304: already started
  }

  async stop(id: string, graceSeconds: number): Promise<void> {
    try {
      await this.api.call({ method: 'POST', path: `/containers/${id}/stop`, query: { t: graceSeconds } });
    } catch (e) {
      if (!hasStatus(e, 304, 404)) throw e; // already stopped, or gone
    }
  }

  async remove(id: string): Promise<void> {
    try {
      await this.api.call({ method: 'DELETE', path: `/containers/${id}`, query: { force: true, v: true } });
    } catch (e) {
      if (!hasStatus(e, 404, 409)) throw e; // gone, or removal already in progress
    }
    this.inspected.delete(id);
  }

  /** Container events of our containers; `onEvent` on each; resolves when the stream ends. */
  async events(onEvent: (action: string, id: string) => void, signal: AbortSignal): Promise<void> {
    const filters = JSON.stringify({ type: ['container'], label: [MANAGED_FILTER, nodeFilter(this.node)] });
    const res = await this.api.stream({ method: 'GET', path: '/events', query: { filters } });
    const stop = (): void => void res.destroy();
    signal.addEventListener('abort', stop, { once: true });
    try {
      await eachJsonLine(res, (ev) => {
        const id = String(ev.id ?? '');
        this.eventCount++;
        this.inspected.delete(id);
        onEvent(String(ev.Action ?? ''), id);
      });
    } catch {
      /* destroyed or cut: ends the same way */
    } finally {
      signal.removeEventListener('abort', stop);
    }
  }

  /** A container's logs as one readable of plain bytes. */
  async logs(id: string, o: LogOptions): Promise<Readable> {
    const query = {
      stdout: true,
      stderr: true,
      timestamps: o.timestamps ?? false,
      follow: o.follow ?? false,
      ...(o.tail !== undefined ? { tail: o.tail } : {}),
      ...(o.sinceSeconds ? { since: Math.floor(Date.now() / 1000) - o.sinceSeconds } : {}),
    };
    const raw = await this.api.stream({ method: 'GET', path: `/containers/${id}/logs`, query });
    if (o.follow) {
      if (o.tty) return raw;
      const out = raw.pipe(new Demux());
      out.on('close', () => raw.destroy());
      return out;
    }
    const parts: Buffer[] = [];
    for await (const chunk of raw) parts.push(chunk as Buffer);
    const buf = Buffer.concat(parts);
    const pt = new PassThrough();
    pt.end(o.tty ? buf : demuxOrdered(buf));
    return pt;
  }

  /** Run a command in a running container; the result after it ends (or -1 on timeout). */
  async exec(id: string, cmd: string[], stdin: string | undefined, timeoutMs: number): Promise<ExecResult> {
    const ex = await this.api.json<{ Id: string }>({ method: 'POST', path: `/containers/${id}/exec`, body: { Cmd: cmd, AttachStdout: true, AttachStderr: true, AttachStdin: stdin !== undefined } });
    const sock = await this.api.upgrade({ method: 'POST', path: `/exec/${ex.Id}/start`, body: { Detach: false, Tty: false } });
    const frames = sock.pipe(new Demux(true));
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    frames.on('data', (f: { stream: number; data: Buffer }) => (f.stream === 2 ? err : out).push(f.data));
    if (stdin !== undefined) sock.end(stdin);
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([
      new Promise<boolean>((resolve) => {
        frames.once('end', () => resolve(true));
        sock.once('close', () => resolve(true));
        sock.once('error', () => resolve(true));
      }),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (!ended) {
      sock.destroy();
      return { exitCode: -1, stdout: Buffer.concat(out).toString('utf8'), stderr: `timed out after ${timeoutMs} ms` };
    }
    const inspect = () => this.api.json<{ Running: boolean; ExitCode: number | null }>({ method: 'GET', path: `/exec/${ex.Id}/json` });
    let info = await inspect();
    for (let i = 0; i < 20 && info.Running; i++) {
      await new Promise((r) => setTimeout(r, 25));
      info = await inspect();
    }
    return { exitCode: info.ExitCode ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
  }

  async execOpen(id: string, o: ExecOpen): Promise<{ execId: string; io: Duplex }> {
    const ex = await this.api.json<{ Id: string }>({
      method: 'POST',
      path: `/containers/${id}/exec`,
      body: { Cmd: o.cmd, AttachStdin: o.stdin, AttachStdout: o.stdout, AttachStderr: o.stderr, Tty: o.tty },
    });
    const io = await this.api.upgrade({ method: 'POST', path: `/exec/${ex.Id}/start`, body: { Detach: false, Tty: o.tty } });
    return { execId: ex.Id, io };
  }

  execInspect(execId: string): Promise<ExecState> {
    return this.api.json<ExecState>({ method: 'GET', path: `/exec/${execId}/json` });
  }

  async execResize(execId: string, width: number, height: number): Promise<void> {
    await this.api.call({ method: 'POST', path: `/exec/${execId}/resize`, query: { h: height, w: width } });
  }

  async terminal(id: string): Promise<{ tty: boolean; openStdin: boolean }> {
    const i = await this.api.json<Inspect>({ method: 'GET', path: `/containers/${id}/json` });
    return { tty: i.Config.Tty ?? false, openStdin: i.Config.OpenStdin ?? false };
  }

  attach(id: string, o: { stdin: boolean; stdout: boolean; stderr: boolean }): Promise<Duplex> {
    return this.api.upgrade({ method: 'POST', path: `/containers/${id}/attach`, query: { stream: true, ...o } });
  }

  async resize(id: string, width: number, height: number): Promise<void> {
    await this.api.call({ method: 'POST', path: `/containers/${id}/resize`, query: { h: height, w: width } });
  }

  /** One container's stats, read once (no second sample: the caller computes rates between its own readings). */
  async stats(id: string): Promise<unknown> {
    return this.api.json<unknown>({ method: 'GET', path: `/containers/${id}/stats`, query: { stream: false, 'one-shot': true } });
  }

  close(): void {
    this.api.close();
  }
}

function toObserved(i: Inspect): ObservedContainer {
  const l = i.Config.Labels ?? {};
  const nets = Object.values(i.NetworkSettings.Networks ?? {});
  // A start that failed (bad command, missing mount) leaves "created" with an error: it ran and ended.
  const failedStart = i.State.Status === 'created' && !!i.State.Error;
  const finishedAt = failedStart ? i.Created : i.State.FinishedAt;
  return {
    id: i.Id,
    dockerName: i.Name.replace(/^\//, ''),
    podUid: l[LABEL.podUid] ?? '',
    namespace: l[LABEL.namespace] ?? '',
    podName: l[LABEL.podName] ?? '',
    role: (l[LABEL.role] ?? 'app') as Role,
    container: l[LABEL.container] ?? '',
    attempt: Number(l[LABEL.attempt] ?? 0),
    restarts: Number(l[LABEL.restarts] ?? l[LABEL.attempt] ?? 0),
    hash: l[LABEL.hash] ?? '',
    graceSeconds: Number(l[LABEL.grace] ?? 10),
    image: i.Config.Image,
    imageId: i.Image,
    state: (failedStart ? 'exited' : i.State.Status) as EngineState,
    exitCode: failedStart && !i.State.ExitCode ? 128 : i.State.ExitCode,
    oomKilled: i.State.OOMKilled,
    error: i.State.Error ?? '',
    ...(i.State.StartedAt && !i.State.StartedAt.startsWith('0001') ? { startedAt: i.State.StartedAt } : {}),
    ...(finishedAt && !finishedAt.startsWith('0001') ? { finishedAt } : {}),
    ...(nets[0]?.IPAddress ? { ip: nets[0].IPAddress } : {}),
    ...(i.State.Pid ? { pid: i.State.Pid } : {}),
  };
}

/** Multiplexed log buffer → the frames' payloads in their original order. */
function demuxOrdered(b: Buffer): Buffer {
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= b.length) {
    const size = b.readUInt32BE(i + 4);
    parts.push(b.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return Buffer.concat(parts);
}
