/**
 * Sessions into pods for the relay's streams (edgehub/streams.ts carries the bytes):
 *
 *   exec         an exec on the engine's connection, taken over: stdin, stdout/stderr (demultiplexed
 *                with backpressure), TTY and resize; exit code from the exec's inspect.
 *   attach       attach to the running container (stdin only if it keeps stdin open).
 *   logs         edged's own log reader (follow, tail, since, timestamps, previous).
 *   portforward  a TCP connection to the pod's IP (127.0.0.1 for hostNetwork pods) and port.
 *
 * Closing an exec session (client gone, link dropped) kills the exec's process tree, as
 * containerd does when an exec stream's context ends — docker has no API for it, so the
 * processes are found under /proc and checked to be in the container's cgroup first.
 * Errors are answers (`{error}`), never thrown: a missing pod is not edged's failure.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { PassThrough, type Duplex, type Readable } from 'node:stream';
import type { ExitStatus, OpenRequest, StreamFailure } from '../../contract/streams.js';
import { wireErrorOf } from '../../contract/errors.js';
import { errorMessage, ConflictError, statusCodeOf, ValidationError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { ByteSession, OpenResult } from '../../node/sessions.js';
import type { ResourceStore } from '../../store/resources.js';
import type { SessionEngine } from './engine.js';
import type { EdgedMessage, PodLogsReply, PodRef } from './messages.js';
import type { ObservedContainer } from './model.js';

export interface PodSessionDeps {
  engine: SessionEngine;
  resources: ResourceStore;
  /** edged's container lookup: latest (or previous) attempt of a pod's container */
  find(ref: PodRef, previous?: boolean): Promise<{ c: ObservedContainer; tty: boolean }>;
  /** edged's log reader */
  logs(msg: Extract<EdgedMessage, { type: 'pod.logs' }>): Promise<PodLogsReply>;
  log: Logger;
}

/** the engine's connection, taken over: a socket (stdin written, stdout/stderr read) */
type Hijacked = Duplex;

export function failureOf(e: unknown): StreamFailure {
  const code = statusCodeOf(e);
  if (code === 404) return { code: 'NotFound', message: errorMessage(e) };
  if (code === 409) return { code: 'Conflict', message: errorMessage(e) };
  const w = wireErrorOf(e, 'Failed');
  return { code: w.code, message: w.message };
}

/**
 * Docker's multiplexed stream (8-byte headers: stream type, size) split into stdout and stderr,
 * pausing the source while either output is full.
 */
export function demux(raw: Readable, out: PassThrough, err: PassThrough): void {
  let buf: Buffer = Buffer.alloc(0);
  let waiting = 0;
  const wait = (w: PassThrough): void => {
    waiting++;
    raw.pause();
    w.once('drain', () => {
      if (--waiting === 0) raw.resume();
    });
  };
  raw.on('data', (chunk: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= 8) {
      const size = buf.readUInt32BE(4);
      if (buf.length < 8 + size) break;
      const target = buf[0] === 2 ? err : out;
      if (size > 0 && !target.write(buf.subarray(8, 8 + size))) wait(target);
      buf = buf.subarray(8 + size);
    }
  });
  const end = (): void => {
    out.end();
    err.end();
  };
  raw.once('end', end);
  raw.once('close', end);
  raw.once('error', end);
}

/** Pids of a process and all its descendants (children first), from /proc. */
function processTree(pid: number): number[] {
  const out: number[] = [];
  const walk = (p: number, depth: number): void => {
    if (depth > 64) return;
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const t of tasks) {
      let kids = '';
      try {
        kids = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const k of kids.split(/\s+/).filter(Boolean)) walk(Number(k), depth + 1);
    }
    out.push(p);
  };
  walk(pid, 0);
  return out;
}

/** SIGKILL an exec's process tree, if its processes are visible here and in that container's cgroup. */
export function killExecTree(pid: number, containerId: string, log: Logger): number {
  let cgroup = '';
  try {
    cgroup = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    log.warn('exec process not visible from edgecore (engine in another pid namespace?); left running', { pid });
    return 0;
  }
  if (!cgroup.includes(containerId)) {
    log.warn('exec pid is not in its container cgroup; not killing it', { pid, container: containerId.slice(0, 12) });
    return 0;
  }
  let killed = 0;
  for (const p of processTree(pid)) {
    try {
      process.kill(p, 'SIGKILL');
      killed++;
    } catch {
      /* gone already */
    }
  }
  return killed;
}

export class PodSessions {
  private readonly live = new Set<ByteSession>();

  constructor(private readonly d: PodSessionDeps) {}

  async open(req: OpenRequest): Promise<OpenResult> {
    try {
      const session = await this.start(req);
      this.live.add(session);
      void session.exit.finally(() => this.live.delete(session)).catch(() => undefined);
      return { session };
    } catch (e) {
      return { error: failureOf(e) };
    }
  }

  /** edged stopping: end every session (exec processes killed). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.live].map((s) => s.close().catch(() => undefined)));
    this.live.clear();
  }

  private async start(req: OpenRequest): Promise<ByteSession> {
    const pod = req.pod;
    if (!pod || req.kind === 'tunnel') throw new ValidationError([{ path: 'kind', reason: `edged serves pod sessions, not ${req.kind}` }], 'stream request');
    const ref: PodRef = { namespace: pod.namespace, name: pod.name, ...(req.container ? { container: req.container } : {}) };
    switch (req.kind) {
      case 'exec':
        return this.exec(req, await this.running(ref, pod.uid));
      case 'attach':
        return this.attach(req, await this.running(ref, pod.uid));
      case 'logs':
        return this.logs(req, ref);
      case 'portforward':
        return this.portForward(req, ref);
    }
  }

  private async running(ref: PodRef, uid?: string): Promise<ObservedContainer> {
    const { c } = await this.d.find(ref);
    if (uid && c.podUid !== uid) throw new ConflictError(`pod ${ref.namespace}/${ref.name} on this node has uid ${c.podUid}, not ${uid}`);
    if (c.state !== 'running') throw new ConflictError(`container ${c.container} of pod ${ref.namespace}/${ref.name} is not running (${c.state})`);
    return c;
  }

  private async exec(req: OpenRequest, c: ObservedContainer): Promise<ByteSession> {
    if (!req.command?.length) throw new ValidationError([{ path: 'command', reason: 'required for exec' }], 'exec request');
    const tty = req.tty ?? false;
    const stdin = req.stdin ?? false;
    const engine = this.d.engine;
    const { execId, io: raw } = await engine.execOpen(c.id, { cmd: req.command, stdin, stdout: req.stdout ?? true, stderr: !tty && (req.stderr ?? true), tty });
    const io = this.streams(raw, tty, stdin);
    const log = this.d.log;
    const exit = new Promise<ExitStatus>((resolve) => {
      let done = false;
      const finished = async (): Promise<void> => {
        if (done) return;
        done = true;
        try {
          let info = await engine.execInspect(execId);
          for (let i = 0; i < 40 && info.Running; i++) {
            await new Promise((r) => setTimeout(r, 25));
            info = await engine.execInspect(execId);
          }
          resolve({ exitCode: info.ExitCode ?? 0 });
        } catch (e) {
          resolve({ error: failureOf(e) });
        }
      };
      raw.once('end', () => void finished());
      raw.once('close', () => void finished());
    });
    return {
      ...io,
      container: c.container,
      tty,
      resize: (w, h) => engine.execResize(execId, w, h).catch(() => undefined),
      exit,
      close: async () => {
        raw.destroy();
        const info = await engine.execInspect(execId).catch(() => undefined);
        if (info?.Running && info.Pid) {
          const n = killExecTree(info.Pid, c.id, log);
          log.info('exec ended with its session', { container: c.container, pid: info.Pid, killed: n });
        }
      },
    };
  }

  private async attach(req: OpenRequest, c: ObservedContainer): Promise<ByteSession> {
    const engine = this.d.engine;
    const term = await engine.terminal(c.id);
    const tty = term.tty;
    const stdin = (req.stdin ?? false) && term.openStdin;
    const raw = await engine.attach(c.id, { stdin, stdout: req.stdout ?? true, stderr: req.stderr ?? true });
    const io = this.streams(raw, tty, stdin);
    const exit = new Promise<ExitStatus>((resolve) => {
      raw.once('end', () => resolve({}));
      raw.once('close', () => resolve({}));
    });
    return {
      ...io,
      container: c.container,
      tty,
      resize: (w, h) => engine.resize(c.id, w, h).catch(() => undefined),
      exit,
      // detaching leaves the container running, as in Kubernetes
      close: async () => void raw.destroy(),
    };
  }

  private streams(raw: Hijacked, tty: boolean, stdin: boolean): Pick<ByteSession, 'stdout' | 'stderr' | 'stdin'> {
    raw.on('error', () => undefined);
    if (tty) return { stdout: raw, ...(stdin ? { stdin: raw } : {}) };
    const out = new PassThrough();
    const err = new PassThrough();
    demux(raw, out, err);
    return { stdout: out, stderr: err, ...(stdin ? { stdin: raw } : {}) };
  }

  private async logs(req: OpenRequest, ref: PodRef): Promise<ByteSession> {
    const o = req.logs ?? {};
    if (req.pod?.uid) await this.uidMatches(ref, req.pod.uid);
    const r = await this.d.logs({
      type: 'pod.logs',
      pod: ref,
      follow: o.follow ?? false,
      timestamps: o.timestamps ?? false,
      previous: o.previous ?? false,
      ...(o.tailLines !== undefined ? { tail: o.tailLines } : {}),
      ...(o.sinceSeconds !== undefined ? { sinceSeconds: o.sinceSeconds } : {}),
    });
    const stream = r.stream;
    stream.on('error', () => undefined);
    const exit = new Promise<ExitStatus>((resolve) => {
      stream.once('end', () => resolve({}));
      stream.once('close', () => resolve({}));
    });
    return { stdout: stream, container: r.container, tty: false, exit, close: async () => void stream.destroy() };
  }

  private async uidMatches(ref: PodRef, uid: string): Promise<void> {
    const r = this.d.resources.get({ kind: 'Pod', namespace: ref.namespace, name: ref.name });
    if (r && r.uid !== uid) throw new ConflictError(`pod ${ref.namespace}/${ref.name} on this node has uid ${r.uid}, not ${uid}`);
  }

  private async portForward(req: OpenRequest, ref: PodRef): Promise<ByteSession> {
    const port = req.port;
    if (!port) throw new ValidationError([{ path: 'port', reason: 'required for portforward' }], 'portforward request');
    const r = this.d.resources.get<{ spec?: { hostNetwork?: boolean } }>({ kind: 'Pod', namespace: ref.namespace, name: ref.name });
    if (!r) throw new ValidationError([{ path: 'pod', reason: `pod ${ref.namespace}/${ref.name} is not on this node` }], 'portforward request');
    if (req.pod?.uid && r.uid !== req.pod.uid) throw new ConflictError(`pod ${ref.namespace}/${ref.name} on this node has uid ${r.uid}, not ${req.pod.uid}`);
    let host = '127.0.0.1';
    if (!r.spec.spec?.hostNetwork) {
      const sandbox = (await this.d.engine.observe()).find((c) => c.podUid === r.uid && c.role === 'sandbox' && c.state === 'running');
      if (!sandbox?.ip) throw new ConflictError(`pod ${ref.namespace}/${ref.name} has no running network sandbox with an IP`);
      host = sandbox.ip;
    }
    const sock = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host, port, allowHalfOpen: true });
      s.once('connect', () => resolve(s));
      s.once('error', (e) => reject(new ConflictError(`dial tcp ${host}:${port}: ${errorMessage(e)}`)));
    });
    sock.on('error', () => undefined);
    const exit = new Promise<ExitStatus>((resolve) => sock.once('close', (hadError) => resolve(hadError ? { error: { code: 'Failed', message: `connection to ${host}:${port} failed` } } : {})));
    return { stdout: sock, stdin: sock, tty: false, exit, close: async () => void sock.destroy() };
  }
}

