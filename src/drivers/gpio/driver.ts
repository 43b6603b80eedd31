/**
 * `gpio` driver: one property = one GPIO line.
 *   protocol.configData: chip (default chip label for the visitors)
 *   visitors.configData: line (name) | chip + offset; direction (in | out), activeLow,
 *     edge (none | rising | falling | both; inputs, default both), debounceMs, initial (outputs)
 * Values are booleans (logical level; activeLow inverts). Inputs push edges through watch().
 */
import * as z from 'zod';
import { intIn, parseConfig, PROTOCOL_PATH, check, visitorPath, visitorParser } from '../config.js';
import { DeviceUnavailableError, DriverProtocolError, asError } from '../errors.js';
import type { DeviceDriver, DriverEnv, DriverFactory, PropertyVisitor, RawValue } from '../types.js';
import { listChips, resolveLine, type GpioChip } from './chips.js';
import { loadOnoffOpener, type GpioLine, type GpioOpener } from './line.js';

const protocolSchema = z.strictObject({ chip: z.string().min(1).optional() });

const visitorSchema = z.strictObject({
  line: z.string().min(1).optional(),
  chip: z.string().min(1).optional(),
  offset: intIn(0, 4095).optional(),
  direction: z.enum(['in', 'out']).default('in'),
  activeLow: z.boolean().default(false),
  edge: z.enum(['none', 'rising', 'falling', 'both']).default('both'),
  debounceMs: z.number().int().min(0).max(10_000).default(0),
  initial: z.union([z.boolean(), z.literal(0), z.literal(1)]).default(false),
});

type Visitor = z.output<typeof visitorSchema>;

function selectorIssues(p: { chip?: string | undefined }, v: Visitor, path: string): { path: string; reason: string }[] {
  if (v.line !== undefined) {
    return v.offset !== undefined ? [{ path: `${path}.offset`, reason: 'give either line (a name) or chip + offset, not both' }] : [];
  }
  if (v.offset === undefined) return [{ path: `${path}.line`, reason: 'give line (a name) or chip + offset' }];
  if (v.chip === undefined && p.chip === undefined) {
    return [{ path: `${path}.chip`, reason: 'offset needs a chip label (here or in protocol.configData.chip)' }];
  }
  return [];
}

export function toLevel(value: RawValue, what: string): 0 | 1 {
  if (value === true || value === 1 || value === '1' || value === 'true' || value === 'on' || value === 'high') return 1;
  if (value === false || value === 0 || value === '0' || value === 'false' || value === 'off' || value === 'low') return 0;
  throw new RangeError(`${what}: expected a boolean level, got ${JSON.stringify(value)}`);
}

class GpioDevice implements DeviceDriver {
  private readonly visitor = visitorParser(visitorSchema, 'gpio');
  private readonly lines = new Map<string, GpioLine>();
  private chips: GpioChip[] | undefined;
  private opener: GpioOpener | undefined;

  constructor(
    private readonly cfg: z.output<typeof protocolSchema>,
    private readonly env: DriverEnv,
    private readonly loadOpener: () => Promise<GpioOpener>,
  ) {}

  async connect(): Promise<void> {
    this.opener ??= await this.loadOpener();
    const chips = await listChips(this.env.sysfs);
    if (chips.length === 0) throw new DeviceUnavailableError(`no GPIO chips under ${this.env.sysfs}/class/gpio`);
    if (this.cfg.chip !== undefined && !chips.some((c) => c.label === this.cfg.chip)) {
      throw new DeviceUnavailableError(`no GPIO chip labelled "${this.cfg.chip}" (found: ${chips.map((c) => c.label).join(', ')})`);
    }
    this.chips = chips;
  }

  private line(v: PropertyVisitor): { line: GpioLine; c: Visitor } {
    const c = this.visitor(v);
    const existing = this.lines.get(v.property);
    if (existing) return { line: existing, c };
    if (!this.chips || !this.opener) throw new DeviceUnavailableError('gpio device is not connected');
    const r = resolveLine(this.chips, { line: c.line, chip: c.chip ?? this.cfg.chip, offset: c.offset });
    const initial = c.initial === true || c.initial === 1 ? 1 : 0;
    const line = this.opener(r.global, { direction: c.direction, initial, activeLow: c.activeLow, edge: c.edge, debounceMs: c.debounceMs }, this.env.sysfs);
    this.env.log.debug('gpio line opened', { property: v.property, chip: r.chip, offset: r.offset, global: r.global });
    this.lines.set(v.property, line);
    return { line, c };
  }

  async read(v: PropertyVisitor): Promise<RawValue> {
    const { line } = this.line(v);
    try {
      return (await line.read()) === 1;
    } catch (e) {
      throw new DeviceUnavailableError(`gpio read ${v.property}: ${asError(e).message}`, { cause: e });
    }
  }

  async write(v: PropertyVisitor, value: RawValue): Promise<void> {
    const { line, c } = this.line(v);
    if (c.direction !== 'out') throw new DriverProtocolError(`${v.property}: GPIO input lines cannot be written`);
    const level = toLevel(value, v.property);
    try {
      await line.write(level);
    } catch (e) {
      throw new DeviceUnavailableError(`gpio write ${v.property}: ${asError(e).message}`, { cause: e });
    }
  }

  /** Only inputs with an edge push values; outputs and edge-less inputs are polled. */
  canWatch(v: PropertyVisitor): boolean {
    try {
      const c = this.visitor(v);
      return c.direction === 'in' && c.edge !== 'none';
    } catch {
      return true; // let watch() report why the line is unusable
    }
  }

  watch(v: PropertyVisitor, emit: (value: RawValue) => void, onError: (err: Error) => void): () => void {
    let line: GpioLine;
    try {
      const got = this.line(v);
      if (got.c.direction !== 'in' || got.c.edge === 'none') {
        throw new DriverProtocolError(`${v.property}: watch needs an input line with an edge`);
      }
      line = got.line;
    } catch (e) {
      queueMicrotask(() => onError(asError(e)));
      return () => undefined;
    }
    return line.watch((err, value) => {
      try {
        if (err) onError(err);
        else emit(value === 1);
      } catch {
        // handlers must not throw into the interrupt path
      }
    });
  }

  async close(): Promise<void> {
    for (const [name, line] of this.lines) {
      try {
        line.close();
      } catch (e) {
        this.env.log.warn('gpio unexport failed', { property: name, error: asError(e).message });
      }
    }
    this.lines.clear();
    this.chips = undefined;
  }
}

export function gpioDriver(deps: { opener?: GpioOpener } = {}): DriverFactory {
  return {
    protocol: 'gpio',
    validate(protocolConfig, visitors) {
      const issues = check(protocolSchema, protocolConfig, PROTOCOL_PATH);
      const p = protocolSchema.safeParse(protocolConfig ?? {});
      visitors.forEach((v, i) => {
        const path = visitorPath(v, i);
        const r = visitorSchema.safeParse(v.config ?? {});
        if (!r.success) issues.push(...check(visitorSchema, v.config, path));
        else issues.push(...selectorIssues(p.success ? p.data : {}, r.data, path));
      });
      return issues;
    },
    create: (protocolConfig, env) =>
      new GpioDevice(parseConfig(protocolSchema, protocolConfig, PROTOCOL_PATH, 'gpio protocol'), env, deps.opener ? async () => deps.opener! : loadOnoffOpener),
  };
}
