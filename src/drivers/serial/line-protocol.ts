/**
 * Line protocol (text instruments: "MEAS:TEMP?\r\n" → "TEMP=21.5"): pure pieces.
 * - request templates: `{value}` is replaced by the value being written; `{{`/`}}` are literal braces
 * - responses: a regular expression whose first capture group holds the value
 * - `LineSplitter` cuts a byte stream into lines at a delimiter (a trailing "\r" is dropped)
 */
import { DriverProtocolError } from '../errors.js';

export type LineValueType = 'number' | 'string' | 'boolean';

export function renderTemplate(template: string, value?: string): string {
  return template.replace(/\{\{|\}\}|\{value\}/g, (m) => {
    if (m === '{{') return '{';
    if (m === '}}') return '}';
    if (value === undefined) throw new RangeError('template uses {value} but no value was given');
    return value;
  });
}

/** A reason the pattern cannot be used, or undefined when it compiles and has a capture group. */
export function patternProblem(pattern: string): string | undefined {
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch (e) {
    return `not a valid regular expression: ${(e as Error).message}`;
  }
  const groups = new RegExp(`${re.source}|`).exec('')!.length - 1;
  return groups < 1 ? 'needs a capture group around the value' : undefined;
}

export function formatValue(value: unknown): string {
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (Buffer.isBuffer(value)) return value.toString('latin1');
  return String(value);
}

/** Parse a response line; throws DriverProtocolError naming the line when it does not match. */
export function parseLine(line: string, pattern: RegExp, type: LineValueType): number | string | boolean {
  const m = pattern.exec(line);
  if (!m || m[1] === undefined) throw new DriverProtocolError(`unexpected response ${JSON.stringify(line)} (wanted /${pattern.source}/)`);
  const raw = m[1];
  switch (type) {
    case 'string':
      return raw;
    case 'number': {
      const n = Number(raw.trim());
      if (raw.trim() === '' || !Number.isFinite(n)) throw new DriverProtocolError(`response value ${JSON.stringify(raw)} is not a number`);
      return n;
    }
    case 'boolean': {
      const s = raw.trim().toLowerCase();
      if (['1', 'true', 'on', 'yes', 'high'].includes(s)) return true;
      if (['0', 'false', 'off', 'no', 'low'].includes(s)) return false;
      throw new DriverProtocolError(`response value ${JSON.stringify(raw)} is not a boolean`);
    }
  }
}

export class LineSplitter {
  private pending = '';
  constructor(
    private readonly delimiter: string = '\n',
    private readonly maxLength = 4096,
  ) {}

  /** Feed bytes, get the complete lines they finish (without delimiter or trailing "\r"). */
  push(chunk: Buffer | string): string[] {
    this.pending += typeof chunk === 'string' ? chunk : chunk.toString('latin1');
    const out: string[] = [];
    let i: number;
    while ((i = this.pending.indexOf(this.delimiter)) >= 0) {
      const line = this.pending.slice(0, i);
      this.pending = this.pending.slice(i + this.delimiter.length);
      out.push(line.endsWith('\r') ? line.slice(0, -1) : line);
    }
    if (this.pending.length > this.maxLength) {
      this.pending = '';
      throw new DriverProtocolError(`no line delimiter within ${this.maxLength} bytes`);
    }
    return out;
  }
}
