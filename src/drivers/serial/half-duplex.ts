/**
 * Request/answer exchanges over a ByteTransport, one at a time (a half-duplex line: Modbus RTU,
 * line-oriented instruments), each bounded by a timeout.
 *
 * Neither protocol carries a transaction id, so an answer that comes after its request timed out
 * would be taken for the next request's answer: a register read at one address would report the
 * value of another. After an exchange that went wrong (no answer in time, a garbled answer) the
 * line is therefore "unsettled": before the next request goes out it must stay quiet for a while,
 * and what arrives meanwhile is dropped (and counted). A line that never quiets (noise, another
 * master) is waited for at most four times that long.
 */
import { DeviceUnavailableError, DriverTimeoutError, asError, isDeviceUnavailable, isDriverTimeout } from '../errors.js';
import { OneAtATime } from '../../lib/one-at-a-time.js';
import type { ByteTransport } from './transport.js';

export interface Exchange<T> {
  request: Uint8Array;
  /**
   * Received bytes in; the answer out once complete (undefined: not yet). Throws on a bad answer.
   * Absent: no answer is expected, the exchange ends once the request is written.
   */
  answer?: (chunk: Buffer) => T | undefined;
  timeoutMs: number;
  /** what timed out, for the error message ("modbus slave 1 function 3"; " on <port>" is added) */
  what: string;
}

/** how long the line must stay quiet after a failed exchange: the timeout, within [20 ms, 2 s] */
const settleAfter = (timeoutMs: number): number => Math.min(2000, Math.max(20, timeoutMs));

export class HalfDuplexLine {
  private readonly queue = new OneAtATime();
  private unsettled = false;
  /** bytes dropped while the line settled: late answers and noise */
  dropped = 0;

  constructor(
    private readonly transport: () => ByteTransport,
    private readonly settleMs: (timeoutMs: number) => number = settleAfter,
  ) {}

  /** Queue one exchange behind the earlier ones; resolves with the answer (undefined when none is expected). */
  exchange<T>(x: Exchange<T>): Promise<T | undefined> {
    return this.queue.run(() => this.once(x));
  }

  private async once<T>(x: Exchange<T>): Promise<T | undefined> {
    const t = this.transport();
    if (this.unsettled) {
      await this.settle(t, this.settleMs(x.timeoutMs));
      this.unsettled = false;
    }
    try {
      return await exchangeOnce(t, x);
    } catch (e) {
      // a timeout or a garbled answer leaves bytes in flight; a port that is gone does not
      if (isDriverTimeout(e) || !isDeviceUnavailable(e)) this.unsettled = true;
      throw e;
    }
  }

  /** Resolve once nothing has arrived for `quietMs` (at most 4 × quietMs, or when the port closes). */
  private settle(t: ByteTransport, quietMs: number): Promise<void> {
    return new Promise((resolve) => {
      let quiet: NodeJS.Timeout;
      const done = (): void => {
        clearTimeout(quiet);
        clearTimeout(limit);
        offData();
        offClose();
        resolve();
      };
      const limit = setTimeout(done, quietMs * 4);
      quiet = setTimeout(done, quietMs);
      const offData = t.onData((chunk) => {
        this.dropped += chunk.length;
        clearTimeout(quiet);
        quiet = setTimeout(done, quietMs);
      });
      const offClose = t.onClose(done);
    });
  }
}

function exchangeOnce<T>(t: ByteTransport, x: Exchange<T>): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err: Error | undefined, answer?: T): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      offData();
      offClose();
      if (err) reject(err);
      else resolve(answer);
    };
    const parse = x.answer;
    const offData = parse
      ? t.onData((chunk) => {
          try {
            const a = parse(chunk);
            if (a !== undefined) finish(undefined, a);
          } catch (e) {
            finish(asError(e));
          }
        })
      : () => undefined;
    const offClose = t.onClose((err) => finish(err));
    const timer = setTimeout(() => finish(new DriverTimeoutError(`${x.what} on ${t.name}`, x.timeoutMs)), x.timeoutMs);
    t.write(x.request).then(
      () => {
        if (!parse) finish(undefined, undefined);
      },
      (e) => finish(e instanceof DeviceUnavailableError ? e : new DeviceUnavailableError(asError(e).message)),
    );
  });
}
