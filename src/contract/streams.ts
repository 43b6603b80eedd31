/**
 * Byte streams between the relay and a node over the node's MQTT link (topics `stream/down`,
 * relay → node, and `stream/up`, node → relay; QoS 0). Many sessions share the two topics; every
 * frame names its session. Used for logs, exec, attach and port-forward, and meant for any
 * later tunnel through the relay (EdgeMesh): the session kinds are the only part that is
 * specific to pods.
 *
 * Rules (both sides enforce them; a frame that breaks one is dropped, a session whose peer
 * breaks one is reset):
 * - Only the relay opens a session (OPEN goes down only). A node answers with READY or EXIT.
 *   The relay keys sessions by (node, id): what arrives on node N's `stream/up` can only touch
 *   sessions the relay opened on N (the broker confines N to its own topics).
 * - Ordered: each side numbers its frames per session (seq from 0); a gap means a frame was
 *   lost (QoS 0: a broker may drop under pressure) and resets the session, so a byte stream is
 *   never silently corrupted.
 * - Credit flow control per session and direction: a sender may have at most the credit the
 *   receiver granted in flight (OPEN.window for node output, READY.window for relay input);
 *   the receiver grants more (CREDIT) only after the bytes left its buffer. A slow reader
 *   therefore stalls only its own session; neither side ever stops reading the shared link.
 * - Sizes: every frame is bounded (LIMITS); anything larger is dropped.
 * - Keepalive: a side that has sent nothing on a session for `keepaliveMs` sends PING; a side
 *   that has heard nothing for 3× that resets the session (a relay restart behind an
 *   external broker, a lost RESET).
 *
 * Binary layout: [version u8][type u8][session id 16 bytes][seq u32 BE][body].
 */
import * as z from 'zod';
import { ERROR_CODES } from './errors.js';
import { tunnelOpenSchema } from './mesh.js';

export const STREAM_VERSION = 1;
export const HEADER_BYTES = 22;

export const LIMITS = {
  /** bytes of payload in one DATA frame */
  maxData: 32 * 1024,
  /** bytes of JSON in OPEN */
  maxOpenJson: 16 * 1024,
  /** bytes of JSON in READY, EXIT, RESET */
  maxControlJson: 4 * 1024,
  /** the largest window either side may grant */
  maxWindow: 4 * 1024 * 1024,
  /** the window a side grants when nothing else is configured */
  defaultWindow: 256 * 1024,
  /** sessions open at once on one node (both sides refuse more) */
  maxSessionsPerNode: 64,
  /** a command line: arguments and bytes */
  maxArgs: 256,
  keepaliveMs: 15_000,
} as const;

export enum FrameType {
  Open = 1,
  Ready = 2,
  Data = 3,
  Credit = 4,
  Eof = 5,
  Resize = 6,
  Exit = 7,
  Reset = 8,
  Ping = 9,
}

/** Data channels. Down: stdin (also the client → pod bytes of a tunnel). Up: stdout, stderr (tunnel: stdout). */
export const CH_STDIN = 0;
export const CH_STDOUT = 1;
export const CH_STDERR = 2;

const DOWN_TYPES: ReadonlySet<FrameType> = new Set([FrameType.Open, FrameType.Data, FrameType.Credit, FrameType.Eof, FrameType.Resize, FrameType.Reset, FrameType.Ping]);
const UP_TYPES: ReadonlySet<FrameType> = new Set([FrameType.Ready, FrameType.Data, FrameType.Credit, FrameType.Eof, FrameType.Exit, FrameType.Reset, FrameType.Ping]);

export type Direction = 'down' | 'up';

export const STREAM_KINDS = ['exec', 'attach', 'logs', 'portforward', 'tunnel'] as const;
export type StreamKind = (typeof STREAM_KINDS)[number];

const positiveInt = z.number().int().min(0);

export const logOptionsSchema = z.strictObject({
  follow: z.boolean().optional(),
  tailLines: positiveInt.optional(),
  sinceSeconds: z.number().int().min(1).optional(),
  timestamps: z.boolean().optional(),
  previous: z.boolean().optional(),
});
export type StreamLogOptions = z.output<typeof logOptionsSchema>;

export const openRequestSchema = z.strictObject({
  kind: z.enum(STREAM_KINDS),
  /** the pod of a pod session (every kind but `tunnel`) */
  pod: z.strictObject({ namespace: z.string().min(1).max(253), name: z.string().min(1).max(253), uid: z.string().max(64).optional() }).optional(),
  /** what a `tunnel` session is for (mesh.ts) */
  tunnel: tunnelOpenSchema.optional(),
  container: z.string().min(1).max(253).optional(),
  /** exec: the argv (no shell) */
  command: z.array(z.string().max(LIMITS.maxOpenJson)).min(1).max(LIMITS.maxArgs).optional(),
  stdin: z.boolean().optional(),
  stdout: z.boolean().optional(),
  stderr: z.boolean().optional(),
  tty: z.boolean().optional(),
  logs: logOptionsSchema.optional(),
  /** portforward: the pod's port */
  port: z.number().int().min(1).max(65535).optional(),
  /** credit the node starts with for its output, bytes */
  window: z.number().int().min(1).max(LIMITS.maxWindow),
  /** the relay's keepalive period for this session */
  keepaliveMs: z.number().int().min(100).max(600_000),
}).superRefine((r, ctx) => {
  if (r.kind === 'tunnel') {
    if (!r.tunnel) ctx.addIssue({ code: 'custom', path: ['tunnel'], message: 'required for a tunnel session' });
    if (r.pod) ctx.addIssue({ code: 'custom', path: ['pod'], message: 'not allowed on a tunnel session' });
  } else {
    if (!r.pod) ctx.addIssue({ code: 'custom', path: ['pod'], message: `required for a ${r.kind} session` });
    if (r.tunnel) ctx.addIssue({ code: 'custom', path: ['tunnel'], message: `not allowed on a ${r.kind} session` });
  }
});
export type OpenRequest = z.output<typeof openRequestSchema>;

export const readySchema = z.strictObject({
  /** credit the relay starts with for input (stdin), bytes */
  window: z.number().int().min(1).max(LIMITS.maxWindow),
  /** the container the session reached (defaulted by the node when the request named none) */
  container: z.string().max(253).optional(),
  /** whether the session takes stdin (attach: only if the container keeps it open) */
  stdin: z.boolean(),
  tty: z.boolean(),
});
export type ReadyInfo = z.output<typeof readySchema>;

/**
 * Why a session failed, in the one closed set of wire codes (errors.ts); the relay maps each to a
 * Kubernetes Status reason and HTTP code. A code outside the set reads as `Failed`.
 */
const failureSchema = z.strictObject({ code: z.enum(ERROR_CODES).catch('Failed'), message: z.string().max(LIMITS.maxControlJson) });
export type StreamFailure = z.output<typeof failureSchema>;

/** EXIT: how the session ended. `exitCode` for exec (0 = success); `error` when it failed or never started. */
export const exitSchema = z.strictObject({ exitCode: z.number().int().optional(), error: failureSchema.optional() });
export type ExitStatus = z.output<typeof exitSchema>;

export const resetSchema = failureSchema;

export type Frame =
  | { type: FrameType.Open; sid: string; seq: number; open: OpenRequest }
  | { type: FrameType.Ready; sid: string; seq: number; ready: ReadyInfo }
  | { type: FrameType.Data; sid: string; seq: number; channel: number; data: Buffer }
  | { type: FrameType.Credit; sid: string; seq: number; bytes: number }
  | { type: FrameType.Eof; sid: string; seq: number; channel: number }
  | { type: FrameType.Resize; sid: string; seq: number; width: number; height: number }
  | { type: FrameType.Exit; sid: string; seq: number; exit: ExitStatus }
  | { type: FrameType.Reset; sid: string; seq: number; reset: StreamFailure }
  | { type: FrameType.Ping; sid: string; seq: number };

/** A frame without its seq (the sending side numbers it). Distributes over the union. */
export type FrameBody = Frame extends infer F ? (F extends { seq: number } ? Omit<F, 'seq'> : never) : never;

const SID_BYTES = 16;
const SID_RE = /^[0-9a-f]{32}$/;

export function isSessionId(s: string): boolean {
  return SID_RE.test(s);
}

function jsonBody(v: unknown, max: number): Buffer {
  const b = Buffer.from(JSON.stringify(v));
  if (b.length > max) throw new RangeError(`frame body of ${b.length} bytes is over ${max}`);
  return b;
}

/** Encode one frame. Throws RangeError when it breaks a size limit (a caller bug, not input). */
export function encodeFrame(f: Frame): Buffer {
  let body: Buffer;
  switch (f.type) {
    case FrameType.Open:
      body = jsonBody(f.open, LIMITS.maxOpenJson);
      break;
    case FrameType.Ready:
      body = jsonBody(f.ready, LIMITS.maxControlJson);
      break;
    case FrameType.Data:
      if (f.data.length === 0 || f.data.length > LIMITS.maxData) throw new RangeError(`data frame of ${f.data.length} bytes`);
      body = Buffer.concat([Buffer.from([f.channel]), f.data]);
      break;
    case FrameType.Credit:
      body = Buffer.alloc(4);
      body.writeUInt32BE(f.bytes);
      break;
    case FrameType.Eof:
      body = Buffer.from([f.channel]);
      break;
    case FrameType.Resize:
      body = Buffer.alloc(4);
      body.writeUInt16BE(f.width, 0);
      body.writeUInt16BE(f.height, 2);
      break;
    case FrameType.Exit:
      body = jsonBody(f.exit, LIMITS.maxControlJson);
      break;
    case FrameType.Reset:
      body = jsonBody(f.reset, LIMITS.maxControlJson);
      break;
    case FrameType.Ping:
      body = Buffer.alloc(0);
      break;
  }
  const head = Buffer.alloc(HEADER_BYTES);
  head.writeUInt8(STREAM_VERSION, 0);
  head.writeUInt8(f.type, 1);
  if (!isSessionId(f.sid)) throw new RangeError(`session id "${f.sid}" is not 32 hex digits`);
  head.write(f.sid, 2, SID_BYTES, 'hex');
  head.writeUInt32BE(f.seq, 18);
  return Buffer.concat([head, body]);
}

export type Decoded = { ok: true; frame: Frame } | { ok: false; reason: string };

function json(buf: Buffer, max: number): unknown {
  if (buf.length > max) throw new Error(`body of ${buf.length} bytes is over ${max}`);
  return JSON.parse(buf.toString('utf8'));
}

function parsed<T>(schema: z.ZodType<T>, v: unknown, what: string): T {
  const r = schema.safeParse(v);
  if (!r.success) throw new Error(`${what}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return r.data;
}

/**
 * Decode one frame that travelled in `dir`. Never throws: a frame of the wrong direction,
 * version, size or shape comes back as `{ok: false, reason}`.
 */
export function decodeFrame(buf: Buffer, dir: Direction): Decoded {
  try {
    if (buf.length < HEADER_BYTES) return { ok: false, reason: `frame of ${buf.length} bytes is shorter than its header` };
    if (buf.readUInt8(0) !== STREAM_VERSION) return { ok: false, reason: `unknown stream version ${buf.readUInt8(0)}` };
    const type = buf.readUInt8(1) as FrameType;
    if (!(dir === 'down' ? DOWN_TYPES : UP_TYPES).has(type)) return { ok: false, reason: `frame type ${type} may not travel ${dir}` };
    const sid = buf.toString('hex', 2, 2 + SID_BYTES);
    const seq = buf.readUInt32BE(18);
    const body = buf.subarray(HEADER_BYTES);
    const fixed = (n: number): void => {
      if (body.length !== n) throw new Error(`frame type ${type} needs a body of ${n} bytes, got ${body.length}`);
    };
    switch (type) {
      case FrameType.Open:
        return { ok: true, frame: { type, sid, seq, open: parsed(openRequestSchema, json(body, LIMITS.maxOpenJson), 'open') } };
      case FrameType.Ready:
        return { ok: true, frame: { type, sid, seq, ready: parsed(readySchema, json(body, LIMITS.maxControlJson), 'ready') } };
      case FrameType.Data: {
        if (body.length < 2 || body.length > LIMITS.maxData + 1) throw new Error(`data frame of ${body.length - 1} bytes`);
        const channel = body.readUInt8(0);
        if (dir === 'down' ? channel !== CH_STDIN : channel !== CH_STDOUT && channel !== CH_STDERR) throw new Error(`data channel ${channel} may not travel ${dir}`);
        return { ok: true, frame: { type, sid, seq, channel, data: Buffer.from(body.subarray(1)) } };
      }
      case FrameType.Credit: {
        fixed(4);
        const bytes = body.readUInt32BE(0);
        if (bytes === 0 || bytes > LIMITS.maxWindow) throw new Error(`credit of ${bytes} bytes`);
        return { ok: true, frame: { type, sid, seq, bytes } };
      }
      case FrameType.Eof: {
        fixed(1);
        return { ok: true, frame: { type, sid, seq, channel: body.readUInt8(0) } };
      }
      case FrameType.Resize: {
        fixed(4);
        return { ok: true, frame: { type, sid, seq, width: body.readUInt16BE(0), height: body.readUInt16BE(2) } };
      }
      case FrameType.Exit:
        return { ok: true, frame: { type, sid, seq, exit: parsed(exitSchema, json(body, LIMITS.maxControlJson), 'exit') } };
      case FrameType.Reset:
        return { ok: true, frame: { type, sid, seq, reset: parsed(resetSchema, json(body, LIMITS.maxControlJson), 'reset') } };
      case FrameType.Ping:
        fixed(0);
        return { ok: true, frame: { type, sid, seq } };
      default:
        return { ok: false, reason: `unknown frame type ${String(type)}` };
    }
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * The sending half of one direction's credit: how many bytes may still go out. Pure.
 */
export class SendCredit {
  constructor(private credit: number) {}

  get available(): number {
    return this.credit;
  }

  /** take up to `want` bytes of credit; returns how many were taken */
  take(want: number): number {
    const n = Math.min(want, this.credit);
    this.credit -= n;
    return n;
  }

  /** the peer granted `bytes` more; false when that would exceed the largest window (a broken peer) */
  grant(bytes: number): boolean {
    if (this.credit + bytes > LIMITS.maxWindow) return false;
    this.credit += bytes;
    return true;
  }
}

/**
 * The receiving half: counts bytes received but not yet credited back, refuses a sender that
 * overruns the window, and says when to grant credit (after at least half the window left
 * the buffer, or at once when `eager`). Pure.
 */
export class ReceiveWindow {
  private outstanding = 0;
  private consumedUncredited = 0;

  constructor(readonly window: number) {}

  /** bytes arrived; false when the sender overran its credit */
  receive(bytes: number): boolean {
    if (this.outstanding + bytes > this.window) return false;
    this.outstanding += bytes;
    return true;
  }

  /** bytes left the buffer; returns the credit to grant now (0 = wait for more) */
  consume(bytes: number): number {
    this.consumedUncredited += bytes;
    if (this.consumedUncredited * 2 < this.window) return 0;
    const grant = this.consumedUncredited;
    this.consumedUncredited = 0;
    this.outstanding -= grant;
    return grant;
  }

  /** bytes received and not yet handed on */
  get buffered(): number {
    return this.outstanding - this.consumedUncredited;
  }
}
