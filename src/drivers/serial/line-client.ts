/**
 * Request/response over a ByteTransport for line-oriented instruments: one exchange at a
 * time; the first complete line after the request is the answer.
 */
import { DriverTimeoutError, asError } from '../errors.js';
import { LineSplitter } from './line-protocol.js';
import { OneAtATime } from './one-at-a-time.js';
import type { ByteTransport } from './transport.js';

export interface LineClientOptions {
  delimiter: string;
  lineEnding: string;
}

export class LineClient {
  private readonly line = new OneAtATime();

  constructor(
    private readonly transport: () => ByteTransport,
    private readonly opts: LineClientOptions,
  ) {}

  /** Send `text` + line ending; resolve with the next line, or undefined when `expectReply` is false. */
  exchange(text: string, timeoutMs: number, expectReply = true): Promise<string | undefined> {
    return this.line.run(() => this.once(text, timeoutMs, expectReply));
  }

  private once(text: string, timeoutMs: number, expectReply: boolean): Promise<string | undefined> {
    let t: ByteTransport;
    try {
      t = this.transport();
    } catch (e) {
      return Promise.reject(asError(e));
    }
    return new Promise((resolve, reject) => {
      const splitter = new LineSplitter(this.opts.delimiter);
      let done = false;
      const finish = (err: Error | undefined, line?: string): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        offData();
        offClose();
        if (err) reject(err);
        else resolve(line);
      };
      const offData = expectReply
        ? t.onData((chunk) => {
            try {
              const lines = splitter.push(chunk);
              if (lines.length > 0) finish(undefined, lines[0]);
            } catch (e) {
              finish(asError(e));
            }
          })
        : () => undefined;
      const offClose = t.onClose((err) => finish(err));
      const timer = setTimeout(() => finish(new DriverTimeoutError(`line request ${JSON.stringify(text)} on ${t.name}`, timeoutMs)), timeoutMs);
      t.write(Buffer.from(text + this.opts.lineEnding, 'latin1')).then(
        () => {
          if (!expectReply) finish(undefined, undefined);
        },
        (e) => finish(asError(e)),
      );
    });
  }
}
