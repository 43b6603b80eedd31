/**
 * GPIO chip discovery from sysfs (plain file reads under DriverEnv.sysfs, so it is testable on a
 * directory tree). A line is chosen by chip label + offset or by line name — never by a global
 * number, because the legacy sysfs bases differ between kernels (1016 counting down on 6.1,
 * 512+ on newer Raspberry Pi kernels).
 *
 * Chips: `<sysfs>/class/gpio/gpiochip<base>/{label,base,ngpio}`.
 * Line names (sysfs itself has none), from:
 *  1. device tree: `<chip>/device/of_node/gpio-line-names` (NUL-separated, e.g. on a Pi);
 *  2. gpio-sim configfs: `<sysfs>/kernel/config/gpio-sim/<dev>/<bank>/line<N>/name`, tied to
 *     the chip through the bank's `chip_name` ("gpiochipN", the chardev) found in `<chip>/device/`.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../../core/errors.js';
import { DeviceUnavailableError } from '../errors.js';

export interface GpioChip {
  /** the sysfs class entry, e.g. "gpiochip512" */
  sysfsName: string;
  label: string;
  base: number;
  ngpio: number;
  /** names by offset, where known */
  names: (string | undefined)[];
}

export interface LineSelector {
  chip?: string | undefined;
  offset?: number | undefined;
  line?: string | undefined;
}

export interface ResolvedLine {
  /** the legacy sysfs number (base + offset) for this kernel, computed, never configured */
  global: number;
  chip: string;
  offset: number;
}

async function readText(p: string): Promise<string | undefined> {
  try {
    return (await readFile(p, 'utf8')).trim();
  } catch (e) {
    if (['ENOENT', 'ENOTDIR', 'EINVAL'].includes(errnoCode(e) ?? '')) return undefined;
    throw e;
  }
}

async function listDir(p: string): Promise<string[]> {
  try {
    return await readdir(p);
  } catch (e) {
    if (['ENOENT', 'ENOTDIR'].includes(errnoCode(e) ?? '')) return [];
    throw e;
  }
}

async function dtNames(chipDir: string): Promise<string[] | undefined> {
  try {
    const raw = await readFile(join(chipDir, 'device', 'of_node', 'gpio-line-names'));
    return raw.toString('latin1').split('\0').slice(0, -1);
  } catch {
    return undefined;
  }
}

async function gpioSimNames(sysfs: string, chardevs: string[]): Promise<string[] | undefined> {
  if (chardevs.length === 0) return undefined;
  const root = join(sysfs, 'kernel', 'config', 'gpio-sim');
  for (const dev of await listDir(root)) {
    for (const bank of await listDir(join(root, dev))) {
      const bankDir = join(root, dev, bank);
      const chipName = await readText(join(bankDir, 'chip_name'));
      if (!chipName || !chardevs.includes(chipName)) continue;
      const names: string[] = [];
      for (const entry of await listDir(bankDir)) {
        const m = /^line(\d+)$/.exec(entry);
        if (!m) continue;
        const name = await readText(join(bankDir, entry, 'name'));
        if (name) names[Number(m[1])] = name;
      }
      return names;
    }
  }
  return undefined;
}

/** All GPIO chips visible in `<sysfs>/class/gpio`. */
export async function listChips(sysfs: string): Promise<GpioChip[]> {
  const classDir = join(sysfs, 'class', 'gpio');
  const entries = await listDir(classDir);
  const chips: GpioChip[] = [];
  for (const name of entries.filter((e) => /^gpiochip\d+$/.test(e)).sort()) {
    const dir = join(classDir, name);
    const [label, base, ngpio] = await Promise.all(['label', 'base', 'ngpio'].map((f) => readText(join(dir, f))));
    if (label === undefined || base === undefined || ngpio === undefined) continue;
    const chardevs = (await listDir(join(dir, 'device'))).filter((e) => /^gpiochip\d+$/.test(e));
    const names = (await dtNames(dir)) ?? (await gpioSimNames(sysfs, chardevs)) ?? [];
    chips.push({ sysfsName: name, label, base: Number(base), ngpio: Number(ngpio), names });
  }
  return chips;
}

/** Pick the line; throws DeviceUnavailableError naming what was looked for and what exists. */
export function resolveLine(chips: readonly GpioChip[], sel: LineSelector): ResolvedLine {
  if (sel.line !== undefined) {
    const hits: ResolvedLine[] = [];
    for (const c of chips) {
      if (sel.chip !== undefined && c.label !== sel.chip) continue;
      c.names.forEach((n, i) => {
        if (n === sel.line && i < c.ngpio) hits.push({ global: c.base + i, chip: c.label, offset: i });
      });
    }
    if (hits.length === 1) return hits[0]!;
    if (hits.length > 1) {
      throw new DeviceUnavailableError(`GPIO line name "${sel.line}" is ambiguous (${hits.map((h) => `${h.chip}:${h.offset}`).join(', ')}); add chip`);
    }
    const named = chips.filter((c) => c.names.some(Boolean)).map((c) => c.label);
    throw new DeviceUnavailableError(
      `no GPIO line named "${sel.line}"${sel.chip ? ` on chip "${sel.chip}"` : ''} (chips with line names: ${named.join(', ') || 'none'})`,
    );
  }
  const matches = chips.filter((c) => c.label === sel.chip);
  if (matches.length === 0) {
    throw new DeviceUnavailableError(`no GPIO chip labelled "${sel.chip}" (found: ${chips.map((c) => c.label).join(', ') || 'none'})`);
  }
  if (matches.length > 1) throw new DeviceUnavailableError(`GPIO chip label "${sel.chip}" is not unique`);
  const c = matches[0]!;
  const offset = sel.offset ?? -1;
  if (offset < 0 || offset >= c.ngpio) {
    throw new DeviceUnavailableError(`GPIO chip "${c.label}" has lines 0..${c.ngpio - 1}; offset ${offset} is out of range`);
  }
  return { global: c.base + offset, chip: c.label, offset };
}
