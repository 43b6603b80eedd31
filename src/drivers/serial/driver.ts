/**
 * `serial-line` driver: a text instrument on a serial port.
 *   protocol.configData: serial port settings + lineEnding (sent after each request, default
 *     "\r\n"), delimiter (ends each response line, default "\n"), timeoutMs
 *   visitors.configData: request (template), response (regex with a capture group), type
 *     (number | string | boolean), scale/offset (numbers), writeRequest (template with {value}),
 *     writeResponse (regex an acknowledgement must match; without it a write expects no reply),
 *     timeoutMs
 */
import * as z from 'zod';
import { parseConfig, PROTOCOL_PATH, validateAll, visitorParser } from '../config.js';
import { DriverProtocolError } from '../errors.js';
import type { DeviceDriver, DriverEnv, DriverFactory, PropertyVisitor, RawValue } from '../types.js';
import { LineClient } from './line-client.js';
import { SerialLink, type LinkDeps } from './link.js';
import { formatValue, parseLine, patternProblem, renderTemplate } from './line-protocol.js';
import { portChoiceIssues, requirePortOrUsb, serialPortShape } from './options.js';

const protocolSchema = z
  .strictObject({
    ...serialPortShape,
    lineEnding: z.string().max(8).default('\r\n'),
    delimiter: z.string().min(1).max(8).default('\n'),
    timeoutMs: z.number().int().min(1).max(60_000).default(1000),
  })
  .superRefine(requirePortOrUsb);

const pattern = z.string().min(1).superRefine((s, ctx) => {
  const p = patternProblem(s);
  if (p) ctx.addIssue({ code: 'custom', message: p });
});

const visitorSchema = z
  .strictObject({
    request: z.string().min(1).optional(),
    response: pattern.optional(),
    type: z.enum(['number', 'string', 'boolean']).default('number'),
    scale: z.number().finite().default(1),
    offset: z.number().finite().default(0),
    writeRequest: z.string().min(1).optional(),
    writeResponse: pattern.optional(),
    timeoutMs: z.number().int().min(1).max(60_000).optional(),
  })
  .superRefine((v, ctx) => {
    if (!v.request && !v.writeRequest) ctx.addIssue({ code: 'custom', path: ['request'], message: 'give request (to read) and/or writeRequest (to write)' });
    if (v.request && !v.response) ctx.addIssue({ code: 'custom', path: ['response'], message: 'a read request needs a response pattern' });
  });

type Visitor = z.output<typeof visitorSchema>;

class SerialLineDevice implements DeviceDriver {
  private readonly link: SerialLink;
  private readonly client: LineClient;
  private readonly visitor: (v: PropertyVisitor) => Visitor;
  private readonly patterns = new Map<string, RegExp>();

  constructor(
    private readonly cfg: z.output<typeof protocolSchema>,
    env: DriverEnv,
    deps: LinkDeps,
  ) {
    this.link = new SerialLink(cfg, env, deps);
    this.client = new LineClient(() => this.link.current, { delimiter: cfg.delimiter, lineEnding: cfg.lineEnding });
    this.visitor = visitorParser(visitorSchema, 'serial-line');
  }

  private re(src: string): RegExp {
    let r = this.patterns.get(src);
    if (!r) this.patterns.set(src, (r = new RegExp(src)));
    return r;
  }

  connect(): Promise<void> {
    return this.link.connect();
  }

  async read(v: PropertyVisitor): Promise<RawValue> {
    const c = this.visitor(v);
    if (!c.request || !c.response) throw new DriverProtocolError(`${v.property}: no read request configured`);
    const line = await this.client.exchange(renderTemplate(c.request), c.timeoutMs ?? this.cfg.timeoutMs);
    const value = parseLine(line ?? '', this.re(c.response), c.type);
    return typeof value === 'number' ? value * c.scale + c.offset : value;
  }

  async write(v: PropertyVisitor, value: RawValue): Promise<void> {
    const c = this.visitor(v);
    if (!c.writeRequest) throw new DriverProtocolError(`${v.property}: no writeRequest configured (read-only)`);
    const raw = typeof value === 'number' && c.type === 'number' ? (value - c.offset) / c.scale : value;
    const text = renderTemplate(c.writeRequest, formatValue(raw));
    const ack = await this.client.exchange(text, c.timeoutMs ?? this.cfg.timeoutMs, c.writeResponse !== undefined);
    if (c.writeResponse !== undefined) parseLine(ack ?? '', this.re(c.writeResponse), 'string');
  }

  close(): Promise<void> {
    return this.link.close();
  }
}

export function serialLineDriver(deps: LinkDeps = {}): DriverFactory {
  return {
    protocol: 'serial-line',
    validate: (protocolConfig, visitors) => [
      ...validateAll(protocolSchema, visitorSchema, protocolConfig, visitors),
      ...portChoiceIssues(protocolSchema, protocolConfig, PROTOCOL_PATH),
    ],
    create: (protocolConfig, env) =>
      new SerialLineDevice(parseConfig(protocolSchema, protocolConfig, PROTOCOL_PATH, 'serial-line protocol'), env, deps),
  };
}
