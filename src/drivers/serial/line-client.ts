/**
 * Request/response over a ByteTransport for line-oriented instruments: one exchange at a
 * time; the first complete line after the request is the answer (after a failed exchange the
 * line settles first: serial/half-duplex.ts).
 */
import { HalfDuplexLine } from './half-duplex.js';
import { LineSplitter } from './line-protocol.js';
import type { ByteTransport } from './transport.js';

export interface LineClientOptions {
  delimiter: string;
  lineEnding: string;
}

export class LineClient {
  private readonly line: HalfDuplexLine;

  constructor(
    transport: () => ByteTransport,
    private readonly opts: LineClientOptions,
  ) {
    this.line = new HalfDuplexLine(transport);
  }

  /** Send `text` + line ending; resolve with the next line, or undefined when `expectReply` is false. */
  exchange(text: string, timeoutMs: number, expectReply = true): Promise<string | undefined> {
    const splitter = new LineSplitter(this.opts.delimiter);
    return this.line.exchange({
      request: Buffer.from(text + this.opts.lineEnding, 'latin1'),
      ...(expectReply ? { answer: (chunk: Buffer) => splitter.push(chunk)[0] } : {}),
      timeoutMs,
      what: `line request ${JSON.stringify(text)}`,
    });
  }
}
