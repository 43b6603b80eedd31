/**
 * The in-process message bus (Beehive's channel context, typed).
 *
 * - `M` is a discriminated union of every message (`{ type: ... }`); the application defines it,
 *   core never names a module or a message.
 * - `R` maps a message type to the type of its reply, for request/response.
 *
 * Delivery: direct (`send` to one module), group (`sendToGroup`, every running member), topic
 * (`publish` to every subscriber of the message's type), and `request` (direct, with a reply and a
 * timeout). Handlers run on a later tick, never inside the sender's call stack, so a slow or
 * throwing handler cannot break the sender. A throwing handler is reported to the owner's
 * `onHandlerError` (the supervisor restarts that module).
 */
import {
  isConflictError,
  isNoRouteError,
  isNotFoundError,
  isTimeoutError,
  isValidationError,
  NoRouteError,
  TimeoutError,
} from './errors.js';

/**
 * Errors that are answers (bad input, missing object, stale version) or another module's
 * trouble (a request to it timed out or found it down): restarting the handler's own module
 * would not help, so they go back to the caller only.
 */
const isExpected = (e: unknown): boolean =>
  isValidationError(e) || isNotFoundError(e) || isConflictError(e) || isTimeoutError(e) || isNoRouteError(e);

export interface BusMessage {
  type: string;
}

export type MessageOf<M extends BusMessage, T extends M['type']> = Extract<M, { type: T }>;
export type ReplyOf<R, T> = T extends keyof R ? R[T] : void;

export interface Envelope<M extends BusMessage> {
  id: number;
  /** sending module's name, or 'bus' */
  source: string;
  msg: M;
}

/** What a module serves: messages sent to it directly (and requests: the return value is the reply). */
export type DirectHandler<M extends BusMessage> = (msg: M, env: Envelope<M>) => unknown | Promise<unknown>;
export type TopicHandler<M extends BusMessage> = (msg: M, env: Envelope<M>) => void | Promise<void>;

interface Endpoint<M extends BusMessage> {
  name: string;
  group: string;
  handler?: DirectHandler<M>;
  onHandlerError: (err: unknown) => void;
}

interface Subscription<M extends BusMessage> {
  owner: string;
  type: string;
  handler: TopicHandler<M>;
}

/** The view of the bus handed to one module; everything it registers is dropped on `close()`. */
export interface ModuleBus<M extends BusMessage, R = Record<never, never>> {
  readonly self: string;
  /** handle messages addressed to this module; a request's reply is the handler's return value */
  serve(handler: DirectHandler<M>): void;
  send(to: string, msg: M): void;
  sendToGroup(group: string, msg: M): number;
  publish(msg: M): number;
  subscribe<T extends M['type']>(type: T, handler: TopicHandler<MessageOf<M, T>>): () => void;
  request<T extends M['type'] & keyof R>(to: string, msg: MessageOf<M, T>, timeoutMs?: number): Promise<ReplyOf<R, T>>;
  close(): void;
}

export class Bus<M extends BusMessage, R = Record<never, never>> {
  private seq = 0;
  private readonly endpoints = new Map<string, Endpoint<M>>();
  private subs: Subscription<M>[] = [];

  constructor(private readonly defaultTimeoutMs = 5000) {}

  /** Attach a module. Its previous registrations (from an earlier run) must have been closed. */
  attach(name: string, group: string, onHandlerError: (err: unknown) => void): ModuleBus<M, R> {
    const ep: Endpoint<M> = { name, group, onHandlerError };
    this.endpoints.set(name, ep);
    const mine: Subscription<M>[] = [];
    let closed = false;
    const view: ModuleBus<M, R> = {
      self: name,
      serve: (handler) => {
        ep.handler = handler;
      },
      send: (to, msg) => this.deliver(name, to, msg),
      sendToGroup: (g, msg) => this.deliverGroup(name, g, msg),
      publish: (msg) => this.publish(name, msg),
      subscribe: (type, handler) => {
        const s: Subscription<M> = { owner: name, type, handler: handler as TopicHandler<M> };
        this.subs.push(s);
        mine.push(s);
        return () => {
          this.subs = this.subs.filter((x) => x !== s);
        };
      },
      request: (to, msg, timeoutMs) => this.request(name, to, msg, timeoutMs ?? this.defaultTimeoutMs) as never,
      close: () => {
        if (closed) return;
        closed = true;
        const gone = new Set(mine);
        this.subs = this.subs.filter((s) => !gone.has(s));
        if (this.endpoints.get(name) === ep) this.endpoints.delete(name);
      },
    };
    return view;
  }

  /** Names of modules currently attached, optionally only one group. */
  members(group?: string): string[] {
    return [...this.endpoints.values()].filter((e) => !group || e.group === group).map((e) => e.name);
  }

  private envelope(source: string, msg: M): Envelope<M> {
    return { id: ++this.seq, source, msg };
  }

  private runHandler(owner: string, fn: () => unknown): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      setImmediate(() => {
        try {
          Promise.resolve(fn()).then(resolve, reject);
        } catch (e) {
          reject(e);
        }
      });
    }).catch((err) => {
      if (!isExpected(err)) this.endpoints.get(owner)?.onHandlerError(err);
      throw err;
    });
  }

  private deliver(source: string, to: string, msg: M): void {
    const ep = this.endpoints.get(to);
    if (!ep?.handler) throw new NoRouteError(to);
    const h = ep.handler;
    const env = this.envelope(source, msg);
    this.runHandler(to, () => h(msg, env)).catch(() => undefined);
  }

  private deliverGroup(source: string, group: string, msg: M): number {
    let n = 0;
    for (const ep of this.endpoints.values()) {
      if (ep.group !== group || !ep.handler) continue;
      const h = ep.handler;
      const env = this.envelope(source, msg);
      this.runHandler(ep.name, () => h(msg, env)).catch(() => undefined);
      n++;
    }
    return n;
  }

  private publish(source: string, msg: M): number {
    const targets = this.subs.filter((s) => s.type === msg.type);
    for (const s of targets) {
      const env = this.envelope(source, msg);
      this.runHandler(s.owner, () => s.handler(msg, env)).catch(() => undefined);
    }
    return targets.length;
  }

  private request(source: string, to: string, msg: M, timeoutMs: number): Promise<unknown> {
    const ep = this.endpoints.get(to);
    if (!ep?.handler) return Promise.reject(new NoRouteError(to));
    const h = ep.handler;
    const env = this.envelope(source, msg);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new TimeoutError(`request ${msg.type} to ${to}`, timeoutMs)), timeoutMs);
      this.runHandler(to, () => h(msg, env)).then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }
}
