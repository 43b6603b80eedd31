/**
 * A real board for the suite, described by a wiring file (hw-tests/wiring.example.yaml): each of
 * the daemon's GPIO lines is jumpered to a tester line that this process drives (the daemon's
 * inputs) or reads (its outputs); optionally a TMP102 on an I2C bus, a Modbus RTU slave and a
 * serial port with TX tied to RX. The file is checked like edgecore's own config: a bad field is
 * named with its path and the reason, before anything is touched.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { listChips, resolveLine } from '../../src/drivers/gpio/chips.js';
import { loadConfigYamlFile } from '../../src/lib/config-file.js';
import { ROLES, type Board, type GpioSide, type Role } from './board.js';

const offset = z.number().int().min(0).max(1023);
const roleLines = z.strictObject(Object.fromEntries(ROLES.map((r) => [r, offset])) as Record<Role, typeof offset>);

export const wiringSchema = z.strictObject({
  gpio: z.strictObject({
    chip: z.string().min(1),
    lines: roleLines,
    tester: z.strictObject({ chip: z.string().min(1).optional(), lines: roleLines }),
  }),
  i2c: z.strictObject({ bus: z.number().int().min(0), tmp102: z.number().int().min(0x03).max(0x77) }).optional(),
  serial: z
    .strictObject({
      loopback: z.string().startsWith('/').optional(),
      modbus: z.strictObject({ port: z.string().startsWith('/'), slaveId: z.number().int().min(1).max(247).default(1) }).optional(),
    })
    .optional(),
});
export type Wiring = z.output<typeof wiringSchema>;

/** The daemon reads these lines: the tester drives them through the jumpers. */
const DAEMON_INPUTS: readonly Role[] = ['button', 'door', 'bounce'];

export function loadWiring(file: string): Wiring {
  const w = loadConfigYamlFile(wiringSchema, file);
  const testerChip = w.gpio.tester.chip ?? w.gpio.chip;
  for (const r of ROLES) {
    const clash = ROLES.find((d) => testerChip === w.gpio.chip && w.gpio.lines[d] === w.gpio.tester.lines[r]);
    if (clash) throw new Error(`${file}: gpio.tester.lines.${r}: offset ${w.gpio.tester.lines[r]} is the daemon's ${clash} line; a tester line must be a different pin`);
  }
  return w;
}

export async function wiredBoard(file: string, sysfs = process.env.HIL_SYSFS ?? '/sys'): Promise<Board> {
  const w = loadWiring(file);
  const { Gpio } = await import('onoff');
  const chips = await listChips(sysfs);
  const testerChip = w.gpio.tester.chip ?? w.gpio.chip;
  const tester = {} as Record<Role, InstanceType<typeof Gpio>>;
  for (const r of ROLES) {
    const line = resolveLine(chips, { chip: testerChip, offset: w.gpio.tester.lines[r] });
    tester[r] = new Gpio(line.global, DAEMON_INPUTS.includes(r) ? 'low' : 'in');
  }
  const gpio: GpioSide = {
    chip: w.gpio.chip,
    offsets: w.gpio.lines,
    drive: async (role, level) => tester[role].writeSync(level),
    level: async (role) => {
      await sleep(1);
      return tester[role].readSync() as 0 | 1;
    },
  };
  const serial = w.serial && {
    ...(w.serial.modbus ? { modbus: { port: w.serial.modbus.port, slaveId: w.serial.modbus.slaveId } } : {}),
    ...(w.serial.loopback ? { loopback: w.serial.loopback } : {}),
  };
  return {
    kind: 'wired',
    describe: { wiring: file, gpioChip: w.gpio.chip, testerChip },
    gpio,
    ...(w.i2c ? { i2c: { bus: w.i2c.bus, tmp102: w.i2c.tmp102 } } : {}),
    ...(serial ? { serial } : {}),
    close: async () => {
      for (const r of ROLES) tester[r].unexport();
    },
  };
}
