/**
 * A real board for the suite, described by a wiring file (hw-tests/wiring.example.yaml): each of
 * the daemon's GPIO lines is jumpered to a tester line that this process drives (the daemon's
 * inputs) or reads (its outputs); optionally a TMP102 on an I2C bus, a Modbus RTU slave and a
 * serial port with TX tied to RX. The file is checked like edgecore's own config: a bad field is
 * named with its path and the reason, before anything is touched.
 */
import { z } from 'zod';
import { ConfigError } from '../../src/core/errors.js';
import { listChips, resolveLine } from '../../src/drivers/gpio/chips.js';
import { loadOnoffOpener, type GpioLine } from '../../src/drivers/gpio/line.js';
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
  if ((w.gpio.tester.chip ?? w.gpio.chip) === w.gpio.chip) {
    for (const r of ROLES) {
      const clash = ROLES.find((d) => w.gpio.lines[d] === w.gpio.tester.lines[r]);
      if (clash) throw new ConfigError([{ path: `gpio.tester.lines.${r}`, reason: `offset ${w.gpio.tester.lines[r]} is the daemon's ${clash} line; a tester line must be a different pin` }], file);
    }
  }
  return w;
}

/** The tester's side of the jumpers, through the project's own GPIO transport (onoff, sysfs). */
export async function wiredBoard(file: string): Promise<Board> {
  const w = loadWiring(file);
  const open = await loadOnoffOpener();
  const chips = await listChips('/sys');
  const testerChip = w.gpio.tester.chip ?? w.gpio.chip;
  const tester = {} as Record<Role, GpioLine>;
  for (const r of ROLES) {
    const line = resolveLine(chips, { chip: testerChip, offset: w.gpio.tester.lines[r] });
    const drives = DAEMON_INPUTS.includes(r);
    tester[r] = open(line.global, { direction: drives ? 'out' : 'in', initial: 0, activeLow: false, edge: 'none', debounceMs: 0 }, '/sys');
  }
  const gpio: GpioSide = {
    chip: w.gpio.chip,
    offsets: w.gpio.lines,
    drive: (role, level) => tester[role].write(level),
    level: (role) => tester[role].read(),
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
      for (const r of ROLES) tester[r].close();
    },
  };
}
