/**
 * GPIO chip/line resolution. This tests the resolver only: it reads plain files, so a temporary
 * directory laid out like sysfs stands in for /sys here (the real kernel behaviour — export,
 * edges, active_low — is exercised by the hardware-in-the-loop suite in a QEMU guest).
 */
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isDeviceUnavailable } from '../../../src/drivers/errors.js';
import { listChips, resolveLine } from '../../../src/drivers/gpio/chips.js';
import { sysfsDirection } from '../../../src/drivers/gpio/line.js';
import { tmpDir } from '../../helpers/tmp.js';

function chip(sysfs: string, base: number, label: string, ngpio: number, device?: string): string {
  const dir = join(sysfs, 'class', 'gpio', `gpiochip${base}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'label'), `${label}\n`);
  writeFileSync(join(dir, 'base'), `${base}\n`);
  writeFileSync(join(dir, 'ngpio'), `${ngpio}\n`);
  if (device) symlinkSync(device, join(dir, 'device'));
  return dir;
}

test('chips are found by label whatever their base (6.1-style 1016, Pi-style 512)', async (t) => {
  const sysfs = tmpDir(t);
  chip(sysfs, 1016, 'gpio-sim.0-node0', 8);
  chip(sysfs, 512, 'pinctrl-bcm2711', 58);
  writeFileSync(join(sysfs, 'class', 'gpio', 'export'), '');
  const chips = await listChips(sysfs);
  assert.deepEqual(chips.map((c) => [c.label, c.base, c.ngpio]).sort(), [
    ['gpio-sim.0-node0', 1016, 8],
    ['pinctrl-bcm2711', 512, 58],
  ]);
  assert.deepEqual(resolveLine(chips, { chip: 'gpio-sim.0-node0', offset: 3 }), { global: 1019, chip: 'gpio-sim.0-node0', offset: 3 });
  assert.equal(resolveLine(chips, { chip: 'pinctrl-bcm2711', offset: 17 }).global, 529);
  assert.throws(() => resolveLine(chips, { chip: 'gpio-sim.0-node0', offset: 8 }), (e: unknown) => isDeviceUnavailable(e) && /0\.\.7/.test((e as Error).message));
  assert.throws(() => resolveLine(chips, { chip: 'nope', offset: 0 }), /no GPIO chip labelled "nope" \(found: /);
});

test('line names from a device-tree gpio-line-names property', async (t) => {
  const sysfs = tmpDir(t);
  const dev = join(sysfs, 'devices', 'platform', 'soc', 'gpio');
  mkdirSync(join(dev, 'of_node'), { recursive: true });
  writeFileSync(join(dev, 'of_node', 'gpio-line-names'), 'ID_SDA\0ID_SCL\0GPIO2\0GPIO3\0');
  chip(sysfs, 512, 'pinctrl-bcm2711', 58, dev);
  const chips = await listChips(sysfs);
  assert.deepEqual(resolveLine(chips, { line: 'GPIO3' }), { global: 515, chip: 'pinctrl-bcm2711', offset: 3 });
  assert.throws(() => resolveLine(chips, { line: 'GPIO99' }), /no GPIO line named "GPIO99" \(chips with line names: pinctrl-bcm2711\)/);
});

test('line names from gpio-sim configfs, tied by chip_name to the chip device', async (t) => {
  const sysfs = tmpDir(t);
  const dev = join(sysfs, 'devices', 'platform', 'gpio-sim.0');
  mkdirSync(join(dev, 'gpiochip0'), { recursive: true });
  chip(sysfs, 1016, 'gpio-sim.0-node0', 8, dev);
  const bank = join(sysfs, 'kernel', 'config', 'gpio-sim', 'hwsim', 'bank0');
  for (const [i, n] of ['BUTTON', 'LED'].entries()) {
    mkdirSync(join(bank, `line${i}`), { recursive: true });
    writeFileSync(join(bank, `line${i}`, 'name'), `${n}\n`);
  }
  writeFileSync(join(bank, 'chip_name'), 'gpiochip0\n');
  const chips = await listChips(sysfs);
  assert.deepEqual(resolveLine(chips, { line: 'LED' }), { global: 1017, chip: 'gpio-sim.0-node0', offset: 1 });
  assert.equal(resolveLine(chips, { line: 'BUTTON', chip: 'gpio-sim.0-node0' }).global, 1016);
  assert.throws(() => resolveLine(chips, { line: 'LED', chip: 'other' }), /no GPIO line named "LED" on chip "other"/);
});

test('no gpio class directory → no chips', async (t) => {
  assert.deepEqual(await listChips(join(tmpDir(t), 'missing')), []);
});

test('sysfs direction for outputs is the RAW level: active-low inverts the logical initial value', () => {
  assert.equal(sysfsDirection({ direction: 'in', initial: 0, activeLow: false }), 'in');
  assert.equal(sysfsDirection({ direction: 'out', initial: 0, activeLow: false }), 'low');
  assert.equal(sysfsDirection({ direction: 'out', initial: 1, activeLow: false }), 'high');
  assert.equal(sysfsDirection({ direction: 'out', initial: 0, activeLow: true }), 'high');
  assert.equal(sysfsDirection({ direction: 'out', initial: 1, activeLow: true }), 'low');
});
