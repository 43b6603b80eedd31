/**
 * A byte session as the node's modules serve it to edgehub's stream transport: what a module
 * (edged for exec/attach/logs/port-forward; later the mesh for tunnels) returns when the relay
 * opens a session. The transport owns the wire (frames, credit, keepalive); the module owns the
 * process or socket behind it. Streams only: flow control is the readable's pause/resume and
 * the writable's write callback.
 */
import type { Readable, Writable } from 'node:stream';
import type { ExitStatus, OpenRequest, StreamFailure } from '../contract/streams.js';

export interface ByteSession {
  /** output channel 1 (a tunnel's only output) */
  readonly stdout?: Readable;
  /** output channel 2 */
  readonly stderr?: Readable;
  /** input channel 0; `end()` when the client closed its input */
  readonly stdin?: Writable;
  /** the container reached (when the request named none, the default one) */
  readonly container?: string;
  readonly tty: boolean;
  /** resolves once the terminal has the new size (input after a resize waits for it) */
  resize?(width: number, height: number): Promise<void> | void;
  /** the final status; resolves after stdout and stderr ended */
  readonly exit: Promise<ExitStatus>;
  /** end now (the client went away or the link dropped): stop whatever the session started */
  close(): Promise<void>;
}

/** What a module answers to an open: the session, or why there is none (never thrown). */
export type OpenResult = { session: ByteSession } | { error: StreamFailure };

export type SessionOpener = (req: OpenRequest) => Promise<OpenResult>;
