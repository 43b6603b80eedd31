/**
 * The Docker engine adapter (dockerode over the configured socket). Reads only containers that
 * carry `io.edgecore.managed=true`; every write names a container id we observed or created.
 */
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import Docker from 'dockerode';
import { errorMessage, hasStatus } from '../../core/errors.js';
import { LABEL, MANAGED_FILTER, nodeFilter, type Role } from './labels.js';
import type { EngineState, ObservedContainer } from './model.js';

/** Splits Docker's multiplexed stdout/stderr frames (8-byte headers) into plain bytes. */
export class Demux extends Transform {
  private buf: Buffer = Buffer.alloc(0);
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= 8) {
      const size = this.buf.readUInt32BE(4);
      if (this.buf.length < 8 + size) break;
      this.push(this.buf.subarray(8, 8 + size));
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
  observe(): Promise<ObservedContainer[]>;
  imagePresent(ref: string): Promise<boolean>;
  pull(ref: string, auth: object | undefined, onProgress: (status: string) => void): Promise<void>;
  /** the new container's id, or undefined when a container of that name already exists */
  create(opts: Docker.ContainerCreateOptions): Promise<string | undefined>;
  start(id: string): Promise<void>;
  stop(id: string, graceSeconds: number): Promise<void>;
  remove(id: string): Promise<void>;
  events(onEvent: (action: string, id: string) => void, signal: AbortSignal): Promise<void>;
  logs(id: string, o: LogOptions): Promise<Readable>;
  exec(id: string, cmd: string[], stdin: string | undefined, timeoutMs: number): Promise<ExecResult>;
}

export class Engine implements ContainerEngine {
  readonly docker: Docker;

  private readonly filter: string[];

  constructor(socketPath: string, readonly node: string) {
    this.docker = new Docker({ socketPath });
    this.filter = [MANAGED_FILTER, nodeFilter(node)];
  }

  /** Every container we own, inspected (state, exit code, times, IP). */
  async observe(): Promise<ObservedContainer[]> {
    const list = await this.docker.listContainers({ all: true, filters: { label: this.filter } });
    const out: ObservedContainer[] = [];
    for (const item of list) {
      try {
        const i = await this.docker.getContainer(item.Id).inspect();
        const l = i.Config.Labels ?? {};
        const nets = Object.values(i.NetworkSettings.Networks ?? {});
        // A start that failed (bad command, missing mount) leaves "created" with an error: it ran and ended.
        const failedStart = i.State.Status === 'created' && !!i.State.Error;
        const finishedAt = failedStart ? i.Created : i.State.FinishedAt;
        out.push({
          id: i.Id,
          dockerName: i.Name.replace(/^\//, ''),
          podUid: l[LABEL.podUid] ?? '',
          namespace: l[LABEL.namespace] ?? '',
          podName: l[LABEL.podName] ?? '',
          role: (l[LABEL.role] ?? 'app') as Role,
          container: l[LABEL.container] ?? '',
          attempt: Number(l[LABEL.attempt] ?? 0),
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
        });
      } catch (e) {
        if (!hasStatus(e, 404)) throw e; // removed meanwhile
      }
    }
    return out;
  }

  async imagePresent(ref: string): Promise<boolean> {
    try {
      await this.docker.getImage(ref).inspect();
      return true;
    } catch (e) {
      if (hasStatus(e, 404)) return false;
      throw e;
    }
  }

  /** Pull an image; `onProgress` hears the engine's progress lines. Rejects with the engine's message. */
  async pull(ref: string, auth: object | undefined, onProgress: (status: string) => void): Promise<void> {
    const stream = (await this.docker.pull(ref, auth ? { authconfig: auth } : {})) as NodeJS.ReadableStream;
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(
        stream,
        (err: unknown, out: { error?: string; errorDetail?: { message?: string } }[]) => {
          const failed = err ? errorMessage(err) : out.find((o) => o.error)?.error;
          if (failed) reject(new Error(failed));
          else resolve();
        },
        (ev: { status?: string; id?: string; progress?: string }) => onProgress([ev.id, ev.status, ev.progress].filter(Boolean).join(' ')),
      );
    });
  }

  async create(opts: Docker.ContainerCreateOptions): Promise<string | undefined> {
    try {
      return (await this.docker.createContainer(opts)).id;
    } catch (e) {
      if (hasStatus(e, 409)) return undefined; // same deterministic name: made by an earlier, interrupted run
      throw e;
    }
  }

  async start(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).start();
    } catch (e) {
      if (!hasStatus(e, 304)) throw e; // already started
    }
  }

  async stop(id: string, graceSeconds: number): Promise<void> {
    try {
      await this.docker.getContainer(id).stop({ t: graceSeconds });
    } catch (e) {
      if (!hasStatus(e, 304, 404)) throw e; // already stopped, or gone
    }
  }

  async remove(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (e) {
      if (!hasStatus(e, 404, 409)) throw e; // gone, or removal already in progress
    }
  }

  /** Container events of our containers; `onEvent` on each; resolves when the stream ends. */
  async events(onEvent: (action: string, id: string) => void, signal: AbortSignal): Promise<void> {
    const stream = (await this.docker.getEvents({ filters: { type: ['container'], label: this.filter } })) as Readable;
    const stop = (): void => void stream.destroy();
    signal.addEventListener('abort', stop, { once: true });
    let rest = '';
    await new Promise<void>((resolve) => {
      stream.on('data', (chunk: Buffer) => {
        rest += chunk.toString('utf8');
        let nl: number;
        while ((nl = rest.indexOf('\n')) >= 0) {
          const line = rest.slice(0, nl);
          rest = rest.slice(nl + 1);
          try {
            const ev = JSON.parse(line) as { Action?: string; id?: string };
            onEvent(ev.Action ?? '', ev.id ?? '');
          } catch {
            /* partial or foreign line */
          }
        }
      });
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', resolve);
    });
    signal.removeEventListener('abort', stop);
  }

  /** A container's logs as one readable of plain bytes. */
  async logs(id: string, o: LogOptions): Promise<Readable> {
    const base = { stdout: true, stderr: true, timestamps: o.timestamps ?? false, ...(o.tail !== undefined ? { tail: o.tail } : {}), ...(o.sinceSeconds ? { since: Math.floor(Date.now() / 1000) - o.sinceSeconds } : {}) };
    const c = this.docker.getContainer(id);
    if (o.follow) {
      const raw = (await c.logs({ ...base, follow: true })) as Readable;
      if (o.tty) return raw;
      const out = raw.pipe(new Demux());
      out.on('close', () => raw.destroy());
      return out;
    }
    const buf = (await c.logs({ ...base, follow: false })) as Buffer;
    const pt = new PassThrough();
    pt.end(o.tty ? buf : demuxOrdered(buf));
    return pt;
  }

  /** Run a command in a running container; the result after it ends (or -1 on timeout). */
  async exec(id: string, cmd: string[], stdin: string | undefined, timeoutMs: number): Promise<ExecResult> {
    const ex = await this.docker.getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, AttachStdin: stdin !== undefined });
    const stream = (await ex.start({ hijack: true, stdin: stdin !== undefined })) as unknown as NodeJS.ReadWriteStream & Readable;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const stdoutSink = new PassThrough().on('data', (b: Buffer) => out.push(b));
    const stderrSink = new PassThrough().on('data', (b: Buffer) => err.push(b));
    this.docker.modem.demuxStream(stream, stdoutSink, stderrSink);
    if (stdin !== undefined) stream.end(stdin);
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([
      new Promise<boolean>((resolve) => {
        stream.once('end', () => resolve(true));
        stream.once('close', () => resolve(true));
        stream.once('error', () => resolve(true));
      }),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (!ended) {
      stream.destroy();
      return { exitCode: -1, stdout: Buffer.concat(out).toString('utf8'), stderr: `timed out after ${timeoutMs} ms` };
    }
    let info = await ex.inspect();
    for (let i = 0; i < 20 && info.Running; i++) {
      await new Promise((r) => setTimeout(r, 25));
      info = await ex.inspect();
    }
    return { exitCode: info.ExitCode ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
  }
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
