/** CRC-16/MODBUS: reflected polynomial 0xA001, initial value 0xFFFF; sent low byte first. */
const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
    t[i] = c;
  }
  return t;
})();

export function crc16(data: Uint8Array, start = 0, end = data.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) crc = (crc >>> 8) ^ TABLE[(crc ^ data[i]!) & 0xff]!;
  return crc;
}

/** `data` followed by its CRC (low byte, high byte). */
export function withCrc(data: Uint8Array): Buffer {
  const out = Buffer.alloc(data.length + 2);
  out.set(data, 0);
  out.writeUInt16LE(crc16(data), data.length);
  return out;
}

/** True when the last two bytes of `frame` are the CRC of the bytes before them. */
export function crcOk(frame: Uint8Array): boolean {
  if (frame.length < 3) return false;
  const n = frame.length - 2;
  return crc16(frame, 0, n) === (frame[n]! | (frame[n + 1]! << 8));
}
