/** The serial-port part of a Device's `protocol.configData`, shared by serial-line and modbus-rtu. */
import * as z from 'zod';

const hexId = z.string().regex(/^(0x)?[0-9a-fA-F]{1,4}$/, 'expected a USB id in hex, e.g. "0403"');

export const serialPortShape = {
  /** port path; a bare name like "ttyUSB0" is taken relative to DriverEnv.dev */
  port: z.string().min(1).optional(),
  /** or find the port by USB ids (needs udevadm) */
  usb: z.strictObject({ vendorId: hexId, productId: hexId, serialNumber: z.string().min(1).optional() }).optional(),
  baudRate: z.number().int().min(50).max(4_000_000).default(9600),
  dataBits: z.union([z.literal(5), z.literal(6), z.literal(7), z.literal(8)]).default(8),
  parity: z.enum(['none', 'even', 'odd', 'mark', 'space']).default('none'),
  stopBits: z.union([z.literal(1), z.literal(1.5), z.literal(2)]).default(1),
  /** reconnect attempts made by one connect() call, with doubling delays */
  reconnect: z
    .strictObject({
      attempts: z.number().int().min(1).max(20).default(3),
      initialMs: z.number().int().min(1).max(60_000).default(100),
      maxMs: z.number().int().min(1).max(300_000).default(2000),
    })
    .prefault({}),
};

export function requirePortOrUsb(v: { port?: string | undefined; usb?: unknown }, ctx: z.RefinementCtx): void {
  if ((v.port === undefined) === (v.usb === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['port'], message: 'give exactly one of port or usb' });
  }
}

export type SerialPortConfig = z.output<z.ZodObject<typeof serialPortShape>>;

/**
 * zod skips object refinements when another field already failed; validate() adds the
 * port/usb choice issue itself in that case, so every problem is reported at once.
 */
export function portChoiceIssues(schema: z.ZodType, raw: Record<string, unknown> | undefined, prefix: string): { path: string; reason: string }[] {
  if (schema.safeParse(raw ?? {}).success) return [];
  const r = raw ?? {};
  return (r.port === undefined) === (r.usb === undefined) ? [{ path: `${prefix}.port`, reason: 'give exactly one of port or usb' }] : [];
}
