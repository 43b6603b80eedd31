/**
 * The relay's half of the stream contract (src/contract/streams.ts): opens sessions on nodes
 * and carries their bytes. Only the relay opens; what comes up on node N's `stream/up` is
 * matched against the sessions the relay opened on N and nothing else, so a node (even a
 * compromised one) can touch only its own sessions.
 *
 * Flow control: a node may send a session at most the credit granted (OPEN.window, then CREDIT
 * after the consumer `ack`s bytes it has written onward); input waits in a queue of at most
 * one window until the node grants credit. Each session's buffers are bounded by its windows,
 * and the shared MQTT link is never paused for one session.
 */
import { randomBytes } from 'node:crypto';
import {
  CH_STDIN,
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
  type ReadyInfo,
  type StreamFailure,
} from '../../contract/streams.js';
import type { NodeChannel } from '../../contract/topics.js';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';

export type SessionRequest = Omit<OpenRequest, 'window' | 'keepaliveMs'>;

export interface NodeStreamsDeps {
  /** publish one frame on the node's `stream/down` (QoS 0) */
  publish(node: string, frame: Buffer): Promise<void>;
  log: Logger;
  /** false when the node is known to be offline: opens fail at once */
  online?(node: string): boolean;
  /** the output window granted to the node per session, bytes */
  window?: number;
  keepaliveMs?: number;
  /** how long to wait for the node's READY */
  openTimeoutMs?: number;
  now?: () => number;
}

/** A session failed or ended without an exit code. */
export class StreamError extends Error {
  constructor(readonly failure: StreamFailure) {
    super(failure.message);
    this.name = 'StreamError';
  }
}

export type DataHandler = (channel: number, data: Buffer) => void;

/** One session as its consumer (an HTTP/WebSocket adapter, a splice) sees it. */
export class RelaySession {
  readonly ready: Promise<ReadyInfo>;
  readonly exit: Promise<ExitStatus>;
  info?: ReadyInfo;
  seqOut = 0;
  seqIn = 0;
  lastHeard: number;
  lastSent: number;
  timer?: NodeJS.Timeout;
  ended = false;
  readonly inWindow: ReceiveWindow;
  credit = new SendCredit(0);
  private readonly out: Buffer[] = [];
  private outBytes = 0;
  private eofPending = false;
  private resizePending?: { width: number; height: number };
  private readonly early: { channel: number; data: Buffer }[] = [];
  private handler?: DataHandler;
  private outputEnded = false;
  private endHandler?: () => void;
  private drainWaiters: (() => void)[] = [];
  private resolveReady!: (r: ReadyInfo) => void;
  private rejectReady!: (e: Error) => void;
  private resolveExit!: (e: ExitStatus) => void;

  constructor(
    readonly id: string,
    readonly node: string,
    readonly request: OpenRequest,
    private readonly owner: NodeStreams,
    now: number,
  ) {
    this.inWindow = new ReceiveWindow(request.window);
    this.lastHeard = now;
    this.lastSent = now;
    this.ready = new Promise((res, rej) => {
      this.resolveReady = res;
      this.rejectReady = rej;
    });
    this.ready.catch(() => undefined);
    this.exit = new Promise((res) => (this.resolveExit = res));
  }

  /** Output (channel 1 stdout, 2 stderr) in order; call `ack(n)` once the bytes went onward. */
  onData(handler: DataHandler): void {
    this.handler = handler;
    for (const e of this.early.splice(0)) handler(e.channel, e.data);
    if (this.outputEnded) this.fireEnd();
  }

  /** A tunnel's node stopped sending (EOF up, after its last output); the session stays open for input. */
  onEnd(cb: () => void): void {
    this.endHandler = cb;
    if (this.outputEnded && this.handler) this.fireEnd();
  }

  private fireEnd(): void {
    const cb = this.endHandler;
    this.endHandler = undefined;
    cb?.();
  }

  /** The consumer wrote `bytes` of output onward (credit goes back to the node). */
  ack(bytes: number): void {
    if (this.ended) return;
    const grant = this.inWindow.consume(bytes);
    if (grant > 0) this.owner.send(this, { type: FrameType.Credit, sid: this.id, bytes: grant });
  }

  /** Input for the session. False when a window's worth waits: pause the source until `onDrain`. */
  write(data: Buffer): boolean {
    if (this.ended || data.length === 0) return !this.ended;
    this.out.push(data);
    this.outBytes += data.length;
    this.flush();
    return this.outBytes < this.request.window;
  }

  onDrain(cb: () => void): void {
    if (this.outBytes === 0) cb();
    else this.drainWaiters.push(cb);
  }

  /** The client closed its input. */
  end(): void {
    this.eofPending = true;
    this.flush();
  }

  resize(width: number, height: number): void {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > 65535 || height > 65535) return;
    this.resizePending = { width, height };
    this.flush();
  }

  /** Bytes held by this session on the relay right now (input queue + output not yet acked). */
  get buffered(): number {
    return this.outBytes + this.inWindow.buffered;
  }

  /** End the session from the relay's side (client gone); the node stops what runs. */
  close(message = 'closed by the client'): void {
    if (this.ended) return;
    this.owner.send(this, { type: FrameType.Reset, sid: this.id, reset: { code: 'Unavailable', message } });
    this.finish({ error: { code: 'Unavailable', message } });
  }

  // ---- driven by NodeStreams ----

  flush(): void {
    if (!this.info || this.ended) return;
    // a resize goes before queued input: keys typed after it must meet the new size
    if (this.resizePending && this.info.tty) {
      this.owner.send(this, { type: FrameType.Resize, sid: this.id, ...this.resizePending });
      this.resizePending = undefined;
    }
    while (this.out.length && this.credit.available > 0) {
      const head = this.out[0]!;
      const n = this.credit.take(Math.min(head.length, LIMITS.maxData));
      this.owner.send(this, { type: FrameType.Data, sid: this.id, channel: CH_STDIN, data: head.subarray(0, n) });
      this.outBytes -= n;
      if (n === head.length) this.out.shift();
      else this.out[0] = head.subarray(n);
    }
    if (this.out.length === 0) {
      if (this.eofPending) {
        this.eofPending = false;
        this.owner.send(this, { type: FrameType.Eof, sid: this.id, channel: CH_STDIN });
      }
      for (const w of this.drainWaiters.splice(0)) w();
    }
  }

  opened(info: ReadyInfo): void {
    this.info = info;
    this.credit = new SendCredit(info.window);
    if (!info.stdin) {
      this.out.length = 0;
      this.outBytes = 0;
    }
    this.resolveReady(info);
    this.flush();
  }

  /** EOF up: no output follows (tunnels). */
  outputEnd(): boolean {
    if (!this.info || this.outputEnded) return false;
    this.outputEnded = true;
    if (this.handler) this.fireEnd();
    return true;
  }

  data(channel: number, data: Buffer): boolean {
    if (this.outputEnded) return false;
    if (!this.info || !this.inWindow.receive(data.length)) return false;
    if (this.handler) this.handler(channel, data);
    else this.early.push({ channel, data });
    return true;
  }

  finish(exit: ExitStatus): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.timer);
    this.out.length = 0;
    this.outBytes = 0;
    for (const w of this.drainWaiters.splice(0)) w();
    if (!this.info) this.rejectReady(new StreamError(exit.error ?? { code: 'Internal', message: 'session ended before it started' }));
    this.owner.forget(this);
    this.resolveExit(exit);
  }
}

export class NodeStreams {
  private readonly nodes = new Map<string, Map<string, RelaySession>>();
  private dropped = 0;
  private readonly window: number;
  private readonly keepaliveMs: number;
  private readonly openTimeoutMs: number;
  private readonly now: () => number;

  constructor(private readonly d: NodeStreamsDeps) {
    this.window = d.window ?? LIMITS.defaultWindow;
    this.keepaliveMs = d.keepaliveMs ?? LIMITS.keepaliveMs;
    this.openTimeoutMs = d.openTimeoutMs ?? 30_000;
    this.now = d.now ?? Date.now;
  }

  /** Open a session on `node`. Its `ready` rejects (StreamError) when the node refuses or is away. */
  open(node: string, req: SessionRequest): RelaySession {
    const request: OpenRequest = { ...req, window: this.window, keepaliveMs: this.keepaliveMs };
    const s = new RelaySession(randomBytes(16).toString('hex'), node, request, this, this.now());
    let map = this.nodes.get(node);
    if (!map) this.nodes.set(node, (map = new Map()));
    if (this.d.online && !this.d.online(node)) {
      s.finish({ error: { code: 'Unavailable', message: `node "${node}" is not connected to the relay` } });
      return s;
    }
    if (map.size >= LIMITS.maxSessionsPerNode) {
      s.finish({ error: { code: 'Unavailable', message: `node "${node}" has ${map.size} sessions open (limit ${LIMITS.maxSessionsPerNode})` } });
      return s;
    }
    map.set(s.id, s);
    s.timer = setInterval(() => this.keepalive(s), Math.max(50, Math.floor(this.keepaliveMs / 2)));
    s.timer.unref();
    const t = setTimeout(() => {
      if (!s.info && !s.ended) this.fail(s, 'Timeout', `node "${node}" did not answer within ${this.openTimeoutMs} ms`);
    }, this.openTimeoutMs);
    t.unref();
    void s.ready.finally(() => clearTimeout(t)).catch(() => undefined);
    this.send(s, { type: FrameType.Open, sid: s.id, open: request });
    return s;
  }

  /** Every node → relay message passes here; frames on `stream/up`, presence ends a node's sessions. */
  observe(node: string, channel: NodeChannel, payload: Buffer): void {
    if (channel === 'presence') {
      // the node (re)connected or went away: its side of every session is gone
      this.resetNode(node, 'Unavailable', `node "${node}" reconnected or went offline`);
      return;
    }
    if (channel !== 'stream/up') return;
    const r = decodeFrame(payload, 'up');
    if (!r.ok) return this.drop(node, r.reason);
    const f = r.frame;
    const s = this.nodes.get(node)?.get(f.sid);
    if (!s) {
      // not a session the relay opened on this node: drop it; an orphan on the node is told to stop
      if (f.type !== FrameType.Reset && f.type !== FrameType.Exit) this.publish(node, { type: FrameType.Reset, sid: f.sid, reset: { code: 'NotFound', message: 'no such session' } }, 0);
      return this.drop(node, `frame for a session the relay did not open on ${node}`);
    }
    if (f.seq !== s.seqIn) return this.fail(s, 'Unavailable', `frame ${f.seq} arrived where ${s.seqIn} was due (frames lost on the link)`);
    s.seqIn++;
    s.lastHeard = this.now();
    this.onFrame(s, f);
  }

  private onFrame(s: RelaySession, f: Frame): void {
    switch (f.type) {
      case FrameType.Ready:
        if (s.info) return this.fail(s, 'Invalid', 'READY twice');
        s.opened(f.ready);
        return;
      case FrameType.Data:
        if (!s.data(f.channel, f.data)) this.fail(s, 'Invalid', s.info ? 'the node sent more output than its credit' : 'output before READY');
        return;
      case FrameType.Credit:
        if (!s.credit.grant(f.bytes)) return this.fail(s, 'Invalid', 'credit beyond the largest window');
        s.flush();
        return;
      case FrameType.Eof:
        if (s.request.kind !== 'tunnel') return;
        if (!s.outputEnd()) this.fail(s, 'Invalid', s.info ? 'EOF twice' : 'EOF before READY');
        return;
      case FrameType.Exit:
        s.finish(f.exit);
        return;
      case FrameType.Reset:
        s.finish({ error: f.reset });
        return;
      default:
        return;
    }
  }

  private keepalive(s: RelaySession): void {
    const now = this.now();
    if (now - s.lastHeard > 3 * this.keepaliveMs) return this.fail(s, 'Timeout', `nothing heard from node "${s.node}" for ${now - s.lastHeard} ms`);
    if (now - s.lastSent >= this.keepaliveMs) this.send(s, { type: FrameType.Ping, sid: s.id });
  }

  private fail(s: RelaySession, code: StreamFailure['code'], message: string): void {
    if (s.ended) return;
    this.d.log.debug('stream session reset', { node: s.node, session: s.id, code, message });
    this.send(s, { type: FrameType.Reset, sid: s.id, reset: { code, message } });
    s.finish({ error: { code, message } });
  }

  resetNode(node: string, code: StreamFailure['code'], message: string): void {
    const map = this.nodes.get(node);
    if (!map) return;
    for (const s of [...map.values()]) s.finish({ error: { code, message } });
    this.nodes.delete(node);
  }

  /** Relay stopping. */
  closeAll(): void {
    for (const node of [...this.nodes.keys()]) this.resetNode(node, 'Unavailable', 'relay stopping');
  }

  stats(): { sessions: number; nodes: number; dropped: number; buffered: number } {
    let sessions = 0;
    let buffered = 0;
    for (const m of this.nodes.values()) {
      sessions += m.size;
      for (const s of m.values()) buffered += s.buffered;
    }
    return { sessions, nodes: this.nodes.size, dropped: this.dropped, buffered };
  }

  /** @internal a session's frame, numbered */
  send(s: RelaySession, body: FrameBody): void {
    s.lastSent = this.now();
    this.publish(s.node, body, s.seqOut++);
  }

  /** @internal */
  forget(s: RelaySession): void {
    const map = this.nodes.get(s.node);
    map?.delete(s.id);
    if (map && map.size === 0) this.nodes.delete(s.node);
  }

  private publish(node: string, body: FrameBody, seq: number): void {
    this.d.publish(node, encodeFrame({ ...body, seq } as Frame)).catch((e) => this.d.log.debug('stream frame not published', { node, error: errorMessage(e) }));
  }

  private drop(node: string, reason: string): void {
    this.dropped++;
    this.d.log.debug('stream frame dropped', { node, reason });
  }
}

/**
 * Join two sessions into one byte pipe through the relay (an EdgeMesh tunnel between two nodes
 * that cannot reach each other): a's output is b's input and the other way round. Output is
 * acknowledged to its node only once the other session has room for it, so credit spans the
 * whole path and the relay holds at most about two windows per direction. When one side ends,
 * the other gets EOF, then is closed once both ended.
 */
export function splice(a: RelaySession, b: RelaySession): void {
  const pipe = (from: RelaySession, to: RelaySession): void => {
    let held = 0;
    from.onData((_ch, d) => {
      if (to.write(d) && held === 0) return from.ack(d.length);
      held += d.length;
      to.onDrain(() => {
        const n = held;
        held = 0;
        if (n) from.ack(n);
      });
    });
  };
  pipe(a, b);
  pipe(b, a);
  // half-close: one node stopped sending, the other is told once what it sent went in
  a.onEnd(() => b.end());
  b.onEnd(() => a.end());
  void a.exit.then(() => b.end());
  void b.exit.then(() => a.end());
  void Promise.all([a.exit, b.exit]).then(() => {
    a.close('tunnel closed');
    b.close('tunnel closed');
  });
}
