/**
 * The board under test, seen from the tests' side ("the outside world" of the daemon):
 * - `simBoard()`: the QEMU guest. GPIO inputs are driven through gpio-sim's `sim_gpioN/pull`,
 *   outputs observed at `sim_gpioN/value`; the I2C chips are hil-i2c-stub register files (the test
 *   writes the sensor's registers, `absent_mask` unplugs them); the UARTs' far ends are the host
 *   simulator (hw-tests/host/sim.mjs), steered through files in the shared results folder.
 * - `wiredBoard(file)` (wired.ts): a real board described by a wiring file.
 * Nothing here knows a global GPIO number: chips by label, lines by offset.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { until } from './harness.js';

export const ROLES = ['button', 'led', 'relay', 'door', 'bounce'] as const;
export type Role = (typeof ROLES)[number];

export interface GpioSide {
  /** label of the chip the daemon's devices use */
  chip: string;
  /** daemon-side offsets by role */
  offsets: Record<Role, number>;
  /** set the physical level seen by the daemon's input line */
  drive(role: Role, level: 0 | 1): Promise<void>;
  /** the physical level the daemon's output line drives */
  level(role: Role): Promise<0 | 1>;
}

export interface I2cSide {
  bus: number;
  /** 7-bit address of the TMP102-like sensor */
  tmp102: number;
  /** sim only: set the temperature register (raw 16-bit TMP102 word, MSB first) */
  setTemperatureRaw?(raw: number): Promise<void>;
  /** sim only: the sensor stops answering / answers again */
  unplug?(): Promise<void>;
  replug?(): Promise<void>;
}

export interface UartSim {
  control(change: { uart1?: 'plugged' | 'unplugged'; uart2?: 'plugged' | 'unplugged'; input?: Record<number, number> }): Promise<void>;
  state(): { holding: Record<string, number>; coils: Record<string, number>; counts: Record<string, number> };
}

export interface SerialSide {
  /** port wired to a Modbus RTU slave (id `slaveId`) */
  modbus?: { port: string; slaveId: number };
  /** port wired to the line device (PING → PONG, READ? → VALUE=n) */
  line?: { port: string };
  /** real boards: a port with TX jumpered to RX */
  loopback?: string;
  sim?: UartSim;
}

export interface Board {
  kind: 'sim' | 'wired';
  describe: Record<string, unknown>;
  gpio: GpioSide;
  i2c?: I2cSide;
  serial?: SerialSide;
  close(): Promise<void>;
}

const env = (k: string): string => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set (run inside the HIL guest, after guest/hw-setup.sh)`);
  return v;
};

export async function simBoard(): Promise<Board> {
  const sim = env('HIL_GPIO_SIM');
  const offsets: Record<Role, number> = { button: 0, led: 1, relay: 2, door: 3, bounce: 4 };
  const gpio: GpioSide = {
    chip: env('HIL_GPIO_LABEL'),
    offsets,
    drive: async (role, level) => writeFileSync(`${sim}/sim_gpio${offsets[role]}/pull`, level ? 'pull-up' : 'pull-down'),
    level: async (role) => (readFileSync(`${sim}/sim_gpio${offsets[role]}/value`, 'utf8').trim() === '1' ? 1 : 0),
  };
  for (const r of ROLES) await gpio.drive(r, 0);

  const i2cBus = Number(env('HIL_I2C_BUS'));
  const absent = env('HIL_I2C_ABSENT');
  const { default: i2c } = await import('i2c-bus');
  const world = i2c.openSync(i2cBus);
  const i2cSide: I2cSide = {
    bus: i2cBus,
    tmp102: 0x48,
    // TMP102 sends MSB first; an SMBus word is little-endian on the wire, so swap
    setTemperatureRaw: async (raw) => world.writeWordSync(0x48, 0x00, ((raw & 0xff) << 8) | (raw >> 8)),
    unplug: async () => writeFileSync(absent, '1'),
    replug: async () => writeFileSync(absent, '0'),
  };

  let serial: SerialSide | undefined;
  if (process.env.HIL_UART_A && process.env.HIL_SIM_DIR) {
    const dir = process.env.HIL_SIM_DIR;
    let seq = Date.now();
    const uartSim: UartSim = {
      async control(change) {
        seq++;
        const p = join(dir, 'control.json');
        writeFileSync(`${p}.tmp`, JSON.stringify({ seq, ...change }));
        renameSync(`${p}.tmp`, p);
        await until('the host simulator to apply a change', () => {
          try {
            return (JSON.parse(readFileSync(join(dir, 'ack.json'), 'utf8')) as { seq: number }).seq === seq ? true : undefined;
          } catch {
            return undefined;
          }
        });
      },
      state: () => JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')),
    };
    serial = { modbus: { port: process.env.HIL_UART_A, slaveId: 1 }, line: { port: env('HIL_UART_B') }, sim: uartSim };
  }
  return {
    kind: 'sim',
    describe: { gpioChip: gpio.chip, gpioBase: Number(env('HIL_GPIO_BASE')), i2cBus, uarts: serial ? [serial.modbus?.port, serial.line?.port] : [] },
    gpio,
    i2c: i2cSide,
    ...(serial ? { serial } : {}),
    close: async () => world.closeSync(),
  };
}
