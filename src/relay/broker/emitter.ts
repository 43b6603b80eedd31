/**
 * aedes' message bus with a bounded number of messages in flight, drained by a loop.
 *
 * Why: mqemitter's own bound (`concurrency`) hands the next queued message out from inside the
 * completion of the previous one. A message that no subscriber matches completes synchronously
 * (node → relay traffic: presence, sync, heartbeats, Wills — the relay reads it in aedes'
 * `published` hook, not through a subscription), so a queue of N such messages nests N calls
 * deep. Reconnect storms and fan-outs at ~20k nodes queue that many, and the relay died with
 * `RangeError: Maximum call stack size exceeded` in mqemitter's release loop (issue 19;
 * upstream: mcollina/mqemitter#204 proposed a setImmediate per message, not merged).
 *
 * Here the inner mqemitter runs unbounded (it never queues, so it never recurses) and this
 * wrapper keeps the bound: a completion that arrives while the loop runs only frees a slot; the
 * loop hands out the next message. The stack depth no longer depends on the queue's length.
 */
import mqemitter from 'mqemitter';

export type BusMessage = mqemitter.Message;
type Listener = (message: BusMessage, done: () => void) => void;
type Callback = (err?: Error) => void;

/** the part of mqemitter's interface aedes uses (passed as its `mq` option) */
export interface MessageBus {
  on(topic: string, listener: Listener, done?: () => void): this;
  removeListener(topic: string, listener: Listener, done?: () => void): void;
  emit(message: BusMessage, cb?: Callback): void;
  close(cb: () => void): void;
}

export class BoundedBus implements MessageBus {
  private readonly inner: mqemitter.MQEmitter;
  private queue: [BusMessage, Callback][] = [];
  private head = 0;
  private inFlight = 0;
  private draining = false;
  private closed = false;
  /** the deepest the queue got (for logs and the bench) */
  maxQueued = 0;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`bus limit must be a positive integer, got ${limit}`);
    // concurrency 0: the inner emitter dispatches at once and never queues
    this.inner = mqemitter({ concurrency: 0, matchEmptyLevels: true });
  }

  get queued(): number {
    return this.queue.length - this.head;
  }

  get current(): number {
    return this.inFlight;
  }

  on(topic: string, listener: Listener, done?: () => void): this {
    this.inner.on(topic, listener, done);
    return this;
  }

  removeListener(topic: string, listener: Listener, done?: () => void): void {
    this.inner.removeListener(topic, listener, done);
  }

  emit(message: BusMessage, cb: Callback = noop): void {
    if (this.closed) return cb(new Error('message bus closed'));
    this.queue.push([message, cb]);
    if (this.queued > this.maxQueued) this.maxQueued = this.queued;
    this.drain();
  }

  close(cb: () => void): void {
    this.closed = true;
    this.inner.close(cb);
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.inFlight < this.limit && this.head < this.queue.length) {
        const [message, cb] = this.queue[this.head]!;
        this.queue[this.head++] = undefined as never;
        if (this.head > 1024 && this.head * 2 > this.queue.length) {
          this.queue = this.queue.slice(this.head);
          this.head = 0;
        }
        this.inFlight++;
        this.inner.emit(message, (err?: Error) => this.completed(cb, err));
      }
    } finally {
      this.draining = false;
    }
  }

  private completed(cb: Callback, err?: Error): void {
    this.inFlight--;
    cb(err);
    // synchronous completions return to the loop above; asynchronous ones restart it
    this.drain();
  }
}

function noop(): void {}
