/**
 * Engineering value = raw * scale + offset, without binary floating-point noise: 199 * 0.1 is
 * 19.9, not 19.900000000000002. Rounded to 12 significant digits, far beyond any sensor's
 * resolution, so a reported twin value is the number a person expects to read.
 */
export function applyScale(raw: number, scale: number, offset: number): number {
  const v = raw * scale + offset;
  return Number.isFinite(v) ? Number(v.toPrecision(12)) : v;
}
