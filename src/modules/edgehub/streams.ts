/**
 * The node's half of the stream contract (src/contract/streams.ts): answers the sessions the
 * relay opens on `stream/down` and sends their output on `stream/up`. It never opens one.
 *
 * Per session: frames numbered and checked in both directions; output (stdout/stderr) sent
 * only within the credit the relay granted — the module's readables are paused meanwhile, so a
 * slow kubectl client backs up into its own container's pipe and nowhere else; input (stdin)
 * credited back only after the module's writable took it. The MQTT link is never paused.
 * When the link drops every session is closed (the relay does the same on the node's
 * presence change), so nothing outlives the connection it belonged to.
 */
import type { Readable } from 'node:stream';
import {
  CH_STDERR,
  CH_STDIN,
  CH_STDOUT,
  decodeFrame,
  encodeFrame,
  FrameType,
  LIMITS,
  ReceiveWindow,
  SendCredit,
  type ExitStatus,
  type Frame,
  type FrameBody,
  type OpenRequest,
  type StreamFailure,
} from '../../contract/streams.js';
import { wireErrorOf } from '../../contract/errors.js';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { ByteSession, SessionOpener } from '../../node/sessions.js';

export interface StreamServerDeps {
  /** publish one frame on `stream/up` (dropped while the link is down: sessions are reset then) */
  send(frame: Buffer): void;
  open: SessionOpener;
  log: Logger;
  /** the stdin window granted to the relay per session */
  window?: number;
  now?: () => number;
}

export interface StreamServerStats {
  sessions: number;
  dropped: number;
  /** bytes held in output queues and stdin windows right now */
  buffered: number;
}

class ServerSession {
  seqOut = 0;
  seqIn = 1;
  io?: ByteSession;
  closed = false;
  exit?: ExitStatus;
  openOutputs = 0;
  /** a tunnel's output ended: EOF goes up once the queue is sent (half-close, relay-side) */
  eofPending = false;
  readonly queue: { channel: number; data: Buffer }[] = [];
  queued = 0;
  readonly credit: SendCredit;
  readonly inWindow: ReceiveWindow;
  readonly outputs: Readable[] = [];
  lastHeard: number;
  lastSent: number;
  timer?: NodeJS.Timeout;
  /** input waiting behind a resize in flight (a terminal must have its size before the keys typed after it) */
  inputChain: Promise<void> = Promise.resolve();
  chained = 0;

  constructor(
    readonly sid: string,
    readonly req: OpenRequest,
    window: number,
    now: number,
  ) {
    this.credit = new SendCredit(req.window);
    this.inWindow = new ReceiveWindow(window);
    this.lastHeard = now;
    this.lastSent = now;
  }
}

export class NodeStreamServer {
  private readonly sessions = new Map<string, ServerSession>();
  private dropped = 0;
  private readonly window: number;
  private readonly now: () => number;

  constructor(private readonly d: StreamServerDeps) {
    this.window = d.window ?? LIMITS.defaultWindow;
    this.now = d.now ?? Date.now;
  }

  stats(): StreamServerStats {
    let buffered = 0;
    for (const s of this.sessions.values()) buffered += s.queued + s.inWindow.buffered;
    return { sessions: this.sessions.size, dropped: this.dropped, buffered };
  }

  /** One payload from `stream/down`. */
  handle(payload: Buffer): void {
    const r = decodeFrame(payload, 'down');
    if (!r.ok) {
      this.drop(r.reason);
      return;
    }
    const f = r.frame;
    if (f.type === FrameType.Open) {
      this.onOpen(f.sid, f.seq, f.open);
      return;
    }
    const s = this.sessions.get(f.sid);
    if (!s) {
      // a session this node does not have (closed, or never opened): tell the relay once
      if (f.type !== FrameType.Reset) this.emit(undefined, f.sid, { type: FrameType.Reset, sid: f.sid, reset: { code: 'NotFound', message: 'no such session on this node' } });
      return;
    }
    if (f.seq !== s.seqIn) {
      this.fail(s, 'Unavailable', `frame ${f.seq} arrived where ${s.seqIn} was due (frames lost on the link)`);
      return;
    }
    s.seqIn++;
    s.lastHeard = this.now();
    this.onFrame(s, f);
  }

  private onFrame(s: ServerSession, f: Frame): void {
    switch (f.type) {
      case FrameType.Data: {
        const stdin = s.io?.stdin;
        if (!stdin || f.channel !== CH_STDIN) return this.fail(s, 'Invalid', 'input on a session that takes none');
        if (!s.inWindow.receive(f.data.length)) return this.fail(s, 'Invalid', 'the relay sent more input than its credit');
        const n = f.data.length;
        const write = (): void => {
          stdin.write(f.data, () => {
            const grant = s.inWindow.consume(n);
            if (grant > 0 && !s.closed) this.emit(s, s.sid, { type: FrameType.Credit, sid: s.sid, bytes: grant });
          });
        };
        if (s.chained === 0) write();
        else this.chain(s, write);
        return;
      }
      case FrameType.Eof:
        if (f.channel !== CH_STDIN) return;
        if (s.chained === 0) s.io?.stdin?.end();
        else this.chain(s, () => s.io?.stdin?.end());
        return;
      case FrameType.Credit:
        if (!s.credit.grant(f.bytes)) return this.fail(s, 'Invalid', 'credit beyond the largest window');
        this.pump(s);
        return;
      case FrameType.Resize:
        if (f.width > 0 && f.height > 0 && s.io?.resize) {
          const io = s.io;
          this.chain(s, () => io.resize?.(f.width, f.height));
        }
        return;
      case FrameType.Reset:
        this.finish(s);
        return;
      case FrameType.Ping:
        return;
      default:
        return;
    }
  }

  private onOpen(sid: string, seq: number, req: OpenRequest): void {
    if (this.sessions.has(sid) || seq !== 0) {
      this.drop(`open of session ${sid} repeated or out of order`);
      return;
    }
    if (this.sessions.size >= LIMITS.maxSessionsPerNode) {
      this.emit(undefined, sid, { type: FrameType.Exit, sid, exit: { error: { code: 'Unavailable', message: `node has ${this.sessions.size} sessions open (limit ${LIMITS.maxSessionsPerNode})` } } }, 0);
      return;
    }
    const s = new ServerSession(sid, req, this.window, this.now());
    this.d.log.info('stream session opened', { session: sid, kind: req.kind, ...(req.pod ? { pod: `${req.pod.namespace}/${req.pod.name}` } : {}), ...(req.tunnel ? { tunnel: req.tunnel } : {}), container: req.container, ...(req.command ? { command: req.command } : {}), ...(req.port ? { port: req.port } : {}) });
    this.sessions.set(sid, s);
    s.timer = setInterval(() => this.keepalive(s), Math.max(50, Math.floor(req.keepaliveMs / 2)));
    s.timer.unref();
    this.d
      .open(req)
      .catch((e: unknown): { error: StreamFailure } => ({ error: wireErrorOf(e, 'Failed') }))
      .then((r) => {
        if ('error' in r) {
          this.emit(s, sid, { type: FrameType.Exit, sid, exit: { error: r.error } });
          this.finish(s);
          return;
        }
        const io = r.session;
        if (s.closed) {
          void io.close().catch(() => undefined);
          return;
        }
        s.io = io;
        this.emit(s, sid, { type: FrameType.Ready, sid, ready: { window: this.window, stdin: !!io.stdin, tty: io.tty, ...(io.container ? { container: io.container } : {}) } });
        if (io.stdout) this.attach(s, io.stdout, CH_STDOUT);
        if (io.stderr) this.attach(s, io.stderr, CH_STDERR);
        io.stdin?.on('error', () => undefined);
        io.exit.then(
          (exit) => {
            s.exit = exit;
            this.maybeExit(s);
          },
          (e: unknown) => {
            s.exit = { error: { code: 'Failed', message: errorMessage(e) } };
            this.maybeExit(s);
          },
        );
      });
  }

  /** Run `op` after everything chained before it (resizes in flight, input queued behind them). */
  private chain(s: ServerSession, op: () => unknown): void {
    s.chained++;
    s.inputChain = s.inputChain
      .then(op)
      .catch(() => undefined)
      .then(() => {
        s.chained--;
      });
  }

  private attach(s: ServerSession, r: Readable, channel: number): void {
    s.openOutputs++;
    s.outputs.push(r);
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      s.openOutputs--;
      // a tunnel's peer learns that this side stopped sending (the session stays open for input)
      if (s.req.kind === 'tunnel' && !s.closed) {
        s.eofPending = true;
        this.pump(s);
      }
      this.maybeExit(s);
    };
    r.on('data', (chunk: Buffer | string) => {
      const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (data.length === 0 || s.closed) return;
      s.queue.push({ channel, data });
      s.queued += data.length;
      this.pump(s);
      if (s.queued > 0) for (const o of s.outputs) o.pause();
    });
    r.once('end', end);
    r.once('close', end);
    r.once('error', end);
  }

  /** Send queued output within the credit; resume the readables once the queue is empty. */
  private pump(s: ServerSession): void {
    while (s.queue.length && s.credit.available > 0 && !s.closed) {
      const head = s.queue[0]!;
      const n = s.credit.take(Math.min(head.data.length, LIMITS.maxData));
      this.emit(s, s.sid, { type: FrameType.Data, sid: s.sid, channel: head.channel, data: head.data.subarray(0, n) });
      s.queued -= n;
      if (n === head.data.length) s.queue.shift();
      else head.data = head.data.subarray(n);
    }
    if (s.queue.length === 0) {
      if (s.eofPending && !s.closed) {
        s.eofPending = false;
        this.emit(s, s.sid, { type: FrameType.Eof, sid: s.sid, channel: CH_STDOUT });
      }
      for (const o of s.outputs) if (!o.destroyed) o.resume();
      this.maybeExit(s);
    }
  }

  /** EXIT goes out after every byte of output (same topic, in order). */
  private maybeExit(s: ServerSession): void {
    if (s.closed || !s.exit || s.openOutputs > 0 || s.queue.length > 0) return;
    this.emit(s, s.sid, { type: FrameType.Exit, sid: s.sid, exit: s.exit });
    this.finish(s);
  }

  private keepalive(s: ServerSession): void {
    const now = this.now();
    if (now - s.lastHeard > 3 * s.req.keepaliveMs) {
      this.fail(s, 'Timeout', `nothing heard from the relay for ${now - s.lastHeard} ms`);
      return;
    }
    if (now - s.lastSent >= s.req.keepaliveMs) this.emit(s, s.sid, { type: FrameType.Ping, sid: s.sid });
  }

  /** Reset one session from this side: tell the relay, stop what runs. */
  private fail(s: ServerSession, code: StreamFailure['code'], message: string): void {
    if (s.closed) return;
    this.d.log.debug('stream session reset', { session: s.sid, code, message });
    this.emit(s, s.sid, { type: FrameType.Reset, sid: s.sid, reset: { code, message } });
    this.finish(s);
  }

  private finish(s: ServerSession): void {
    if (s.closed) return;
    s.closed = true;
    clearInterval(s.timer);
    this.sessions.delete(s.sid);
    s.queue.length = 0;
    s.queued = 0;
    const io = s.io;
    if (io && !s.exit) void io.close().catch((e) => this.d.log.warn('session close failed', { session: s.sid, error: errorMessage(e) }));
    else if (io) for (const o of s.outputs) o.destroy();
  }

  /** The link to the relay dropped or edgehub stops: every session ends here. */
  resetAll(reason: string): void {
    if (this.sessions.size) this.d.log.info('stream sessions closed', { sessions: this.sessions.size, reason });
    for (const s of [...this.sessions.values()]) this.finish(s);
  }

  private emit(s: ServerSession | undefined, sid: string, body: FrameBody, seq?: number): void {
    const n = seq ?? (s ? s.seqOut++ : 0);
    if (s) s.lastSent = this.now();
    this.d.send(encodeFrame({ ...body, sid, seq: n } as Frame));
  }

  private drop(reason: string): void {
    this.dropped++;
    this.d.log.debug('stream frame dropped', { reason });
  }
}
