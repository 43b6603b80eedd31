/**
 * The driver layer's contract (hardware in layers: device → driver → framer → transport).
 * Drivers know nothing of MQTT, the relay, twins or the store: devicetwin calls them with a
 * property's visitor config and gets typed raw values back.
 *
 * A driver instance serves one device (one `protocol.configData`); `read`/`write` address one
 * property through its visitor `configData`. Values cross this boundary as JS values
 * (number | boolean | string | Buffer); devicetwin converts to and from the model's types.
 */
export type RawValue = number | boolean | string | Buffer;

export interface DriverEnv {
  /** host paths from config (never hard-coded) */
  sysfs: string;
  dev: string;
  /** optional clock (ms since epoch) for simulated drivers; defaults to Date.now */
  now?: () => number;
  log: { debug(m: string, f?: Record<string, unknown>): void; warn(m: string, f?: Record<string, unknown>): void };
}

export interface PropertyVisitor {
  /** the property's name (for messages) */
  property: string;
  /** the Device's `properties[].visitors.configData` (free map) */
  config: Record<string, unknown>;
  /**
   * Optional: the property's position in `spec.properties`, used in validation field paths
   * (`properties[<index>].visitors.configData...`). Defaults to the position in the array
   * given to `validate`.
   */
  index?: number;
}

export interface DeviceDriver {
  /** open transports; throw on failure (the caller marks the device offline and retries with backoff) */
  connect(): Promise<void>;
  read(visitor: PropertyVisitor): Promise<RawValue>;
  write(visitor: PropertyVisitor, value: RawValue): Promise<void>;
  /**
   * Optional push: the driver calls `emit` when hardware reports a change by itself (GPIO edge
   * interrupts). Returns an unsubscribe function.
   */
  watch?(visitor: PropertyVisitor, emit: (value: RawValue) => void, onError: (err: Error) => void): () => void;
  /**
   * Whether `watch` applies to this property (e.g. a GPIO input with an edge, not an output).
   * Callers only watch properties for which this is true; absent means every property.
   */
  canWatch?(visitor: PropertyVisitor): boolean;
  close(): Promise<void>;
}

export interface DriverFactory {
  /** `protocol.protocolName` as written in Device YAML (e.g. "gpio", "i2c", "modbus-rtu") */
  readonly protocol: string;
  /** validate protocol and visitor config up front; return field issues (path relative to the Device spec) */
  validate(protocolConfig: Record<string, unknown>, visitors: PropertyVisitor[]): { path: string; reason: string }[];
  create(protocolConfig: Record<string, unknown>, env: DriverEnv): DeviceDriver;
}
