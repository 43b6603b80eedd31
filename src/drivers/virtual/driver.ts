/**
 * `virtual` driver: simulated properties for demos and tests (no hardware).
 *   protocol.configData: { failConnect?: boolean } (to exercise offline handling)
 *   visitors.configData.signal:
 *     sine        amplitude, periodMs, offset, phase — a function of the clock (DriverEnv.now)
 *     randomWalk  start, step, min, max, seed — deterministic for a seed
 *     echo        initial — reads return the last value written (an actuator that obeys)
 *     constant    value
 *   decimals (optional) rounds numeric readings.
 */
import * as z from 'zod';
import { parseConfig, PROTOCOL_PATH, validateAll, visitorParser } from '../config.js';
import { DeviceUnavailableError, DriverProtocolError } from '../errors.js';
import type { DeviceDriver, DriverEnv, DriverFactory, PropertyVisitor, RawValue } from '../types.js';
import { RandomWalk, sine } from './signals.js';

const protocolSchema = z.strictObject({ failConnect: z.boolean().default(false) });

const scalar = z.union([z.number(), z.string(), z.boolean()]);
const visitorSchema = z.discriminatedUnion('signal', [
  z.strictObject({
    signal: z.literal('sine'),
    amplitude: z.number().finite().default(1),
    periodMs: z.number().positive().default(60_000),
    offset: z.number().finite().default(0),
    phase: z.number().finite().default(0),
    decimals: z.number().int().min(0).max(10).optional(),
  }),
  z
    .strictObject({
      signal: z.literal('randomWalk'),
      start: z.number().finite().default(0),
      step: z.number().nonnegative().default(1),
      min: z.number().finite().default(-100),
      max: z.number().finite().default(100),
      seed: z.number().int().default(1),
      decimals: z.number().int().min(0).max(10).optional(),
    })
    .refine((v) => v.min <= v.max, { path: ['min'], message: 'min must not exceed max' }),
  z.strictObject({ signal: z.literal('echo'), initial: scalar.optional() }),
  z.strictObject({ signal: z.literal('constant'), value: scalar }),
]);

type Visitor = z.output<typeof visitorSchema>;

const round = (v: number, d: number | undefined): number => (d === undefined ? v : Number(v.toFixed(d)));

class VirtualDevice implements DeviceDriver {
  private connected = false;
  private readonly walks = new Map<string, RandomWalk>();
  private readonly echoes = new Map<string, RawValue>();
  private readonly visitor = visitorParser(visitorSchema, 'virtual');
  private readonly now: () => number;

  constructor(
    private readonly cfg: z.output<typeof protocolSchema>,
    env: DriverEnv,
  ) {
    this.now = env.now ?? Date.now;
  }

  async connect(): Promise<void> {
    if (this.cfg.failConnect) throw new DeviceUnavailableError('virtual device configured with failConnect');
    this.connected = true;
  }

  private ensure(): void {
    if (!this.connected) throw new DeviceUnavailableError('virtual device is not connected');
  }

  async read(v: PropertyVisitor): Promise<RawValue> {
    this.ensure();
    const c: Visitor = this.visitor(v);
    switch (c.signal) {
      case 'sine':
        return round(sine(c, this.now()), c.decimals);
      case 'randomWalk': {
        let w = this.walks.get(v.property);
        if (!w) this.walks.set(v.property, (w = new RandomWalk(c)));
        return round(w.next(), c.decimals);
      }
      case 'echo': {
        const val = this.echoes.get(v.property) ?? c.initial;
        if (val === undefined) throw new DriverProtocolError(`${v.property}: nothing written yet and no initial value`);
        return val;
      }
      case 'constant':
        return c.value;
    }
  }

  async write(v: PropertyVisitor, value: RawValue): Promise<void> {
    this.ensure();
    const c = this.visitor(v);
    if (c.signal !== 'echo') throw new DriverProtocolError(`${v.property}: a ${c.signal} signal cannot be written`);
    this.echoes.set(v.property, value);
  }

  async close(): Promise<void> {
    this.connected = false;
  }
}

export function virtualDriver(): DriverFactory {
  return {
    protocol: 'virtual',
    validate: (protocolConfig, visitors) => validateAll(protocolSchema, visitorSchema, protocolConfig, visitors),
    create: (protocolConfig, env) => new VirtualDevice(parseConfig(protocolSchema, protocolConfig, PROTOCOL_PATH, 'virtual protocol'), env),
  };
}
