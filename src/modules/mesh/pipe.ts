/**
 * Byte plumbing the proxy needs and Node 20 does not have: two connected in-memory duplex ends
 * (what one writes the other reads, with backpressure), and joining two duplexes both ways with
 * half-close kept (a client that shuts its sending side still gets the answer) and counted.
 */
import { Duplex } from 'node:stream';

class End extends Duplex {
  other?: End;
  private waiting?: (e?: Error | null) => void;

  constructor() {
    super({ allowHalfOpen: true });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    const o = this.other!;
    if (o.destroyed) return cb(new Error('the other end is closed'));
    if (o.push(chunk)) cb();
    else o.waiting = cb;
  }

  override _read(): void {
    const cb = this.waiting;
    this.waiting = undefined;
    cb?.();
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.other!.push(null);
    cb();
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    const o = this.other;
    const w = this.waiting;
    this.waiting = undefined;
    w?.(err ?? new Error('closed'));
    if (o && !o.destroyed) o.destroy(err ?? undefined);
    cb(err);
  }
}

/** Two duplex ends joined to each other. */
export function duplexPair(): [Duplex, Duplex] {
  const a = new End();
  const b = new End();
  a.other = b;
  b.other = a;
  return [a, b];
}

export interface Joined {
  /** bytes a → b and b → a so far */
  readonly bytes: { ab: number; ba: number };
  /** resolves when both sides are closed */
  readonly done: Promise<void>;
}

/**
 * Join `a` and `b` both ways: each direction ends when its source ends (the other side's
 * writable is ended, half-close kept); both are destroyed when either fails, or once both
 * directions ended.
 */
export function join(a: Duplex, b: Duplex): Joined {
  const bytes = { ab: 0, ba: 0 };
  let ended = 0;
  let finished = false;
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  const finish = (): void => {
    if (finished) return;
    finished = true;
    a.destroy();
    b.destroy();
    resolve();
  };
  const oneWay = (from: Duplex, to: Duplex, count: (n: number) => void): void => {
    from.on('data', (d: Buffer) => {
      count(d.length);
      if (!to.write(d)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    });
    from.once('end', () => {
      to.end();
      if (++ended === 2) setImmediate(() => finish());
    });
  };
  oneWay(a, b, (n) => (bytes.ab += n));
  oneWay(b, a, (n) => (bytes.ba += n));
  for (const s of [a, b]) {
    s.on('error', () => finish());
    s.once('close', () => finish());
  }
  return { bytes, done };
}
