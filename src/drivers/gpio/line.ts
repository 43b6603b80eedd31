/**
 * The GPIO transport: one exported line. `loadOnoffOpener` implements it with onoff (sysfs GPIO with
 * epoll edge interrupts). onoff always uses /sys/class/gpio, so it refuses any other sysfs root.
 *
 * Active-low: sysfs `direction` values "high"/"low" are RAW levels, and onoff writes `active_low`
 * before `direction`. So an output's initial LOGICAL level is turned into the raw direction here:
 * logical 1 with activeLow → "low". Reads and writes of `value` are logical (the kernel inverts).
 */
import { resolve } from 'node:path';
import type { Gpio as OnoffGpio } from 'onoff';
import { DeviceUnavailableError, asError } from '../errors.js';

export type Edge = 'none' | 'rising' | 'falling' | 'both';

export interface LineOptions {
  direction: 'in' | 'out';
  /** logical level an output starts at */
  initial: 0 | 1;
  activeLow: boolean;
  edge: Edge;
  debounceMs: number;
}

export interface GpioLine {
  read(): Promise<0 | 1>;
  write(v: 0 | 1): Promise<void>;
  /** edge events (logical value after the edge); returns unsubscribe */
  watch(cb: (err: Error | undefined, value: 0 | 1) => void): () => void;
  close(): void;
}

export type GpioOpener = (global: number, opts: LineOptions, sysfs: string) => GpioLine;

/** The sysfs `direction` to write for `opts` (raw semantics, see above). */
export function sysfsDirection(opts: Pick<LineOptions, 'direction' | 'initial' | 'activeLow'>): 'in' | 'high' | 'low' {
  if (opts.direction === 'in') return 'in';
  const raw = opts.activeLow ? 1 - opts.initial : opts.initial;
  return raw === 1 ? 'high' : 'low';
}

/** The onoff opener; onoff and its epoll addon load only once a node opens a GPIO device. */
export async function loadOnoffOpener(): Promise<GpioOpener> {
  const { Gpio } = await import('onoff');
  return (global, opts, sysfs) => openOnoffLine(Gpio, global, opts, sysfs);
}

function openOnoffLine(Gpio: typeof OnoffGpio, global: number, opts: LineOptions, sysfs: string): GpioLine {
  if (resolve(sysfs) !== '/sys') {
    throw new DeviceUnavailableError(`the onoff GPIO backend only works with sysfs at /sys (configured: ${sysfs})`);
  }
  let gpio: OnoffGpio;
  try {
    gpio = new Gpio(global, sysfsDirection(opts), opts.direction === 'in' ? opts.edge : 'none', {
      activeLow: opts.activeLow,
      debounceTimeout: opts.debounceMs,
      reconfigureDirection: true,
    });
  } catch (e) {
    throw new DeviceUnavailableError(`cannot export GPIO ${global}: ${asError(e).message}`, { cause: e });
  }
  return {
    read: () => gpio.read(),
    write: (v) => gpio.write(v),
    watch(cb) {
      const h = (err: Error | null | undefined, value: 0 | 1): void => {
        try {
          cb(err ?? undefined, value);
        } catch {
          // never throw out of the interrupt handler
        }
      };
      gpio.watch(h);
      return () => gpio.unwatch(h);
    },
    close() {
      gpio.unwatchAll();
      gpio.unexport();
    },
  };
}
