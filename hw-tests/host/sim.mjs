#!/usr/bin/env node
/**
 * Host end of the guest's UARTs: the devices "on the cable".
 *
 *   node hw-tests/host/sim.mjs --uart-dir DIR --state-dir DIR [--slave 1] [--uart2 line|loopback]
 *
 * uart1.sock (guest ttyS1): a Modbus RTU slave (functions 1, 2, 3, 4, 5, 6, 15, 16; exceptions 1/2/3),
 *   written here from the Modbus spec, independently of the project's master, so a shared mistake
 *   cannot hide. Unknown slave ids are ignored like on a real bus; a bad CRC is dropped.
 * uart2.sock (guest ttyS2): a line device: answers "PING" with "PONG", "READ?" with "VALUE=<input 0>",
 *   echoes anything else as "ECHO <line>". With --uart2 loopback it is a cable with TX tied to RX
 *   instead (every byte comes back), as a real board's loopback jumper in the wired rehearsal.
 *
 * Control from the guest goes through files in the shared state dir (the guest cannot reach host
 * sockets): the guest writes control.json {seq, uart1: "plugged"|"unplugged", uart2: ..., input: {addr: v},
 * discrete: {addr: 0|1}}; the sim applies it and writes ack.json {seq}. The sim writes state.json
 * (holding registers and coils that are non-zero, request counts) after every change, so the guest can
 * confirm that a write reached the device.
 * "unplugged" closes the socket: QEMU drops what the guest sends and the guest hears nothing back,
 * as with a pulled cable. "plugged" reconnects.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

const args = Object.fromEntries(
  process.argv.slice(2).flatMap((a, i, all) => (a.startsWith('--') ? [[a.slice(2), all[i + 1]]] : [])),
);
const UART_DIR = args['uart-dir'];
const STATE_DIR = args['state-dir'];
const SLAVE = Number(args.slave ?? 1);
const UART2 = args.uart2 ?? 'line';
if (!UART_DIR || !STATE_DIR || !['line', 'loopback'].includes(UART2)) {
  console.error('usage: sim.mjs --uart-dir DIR --state-dir DIR [--slave N] [--uart2 line|loopback]');
  process.exit(2);
}
const log = (m) => process.stderr.write(`hil-sim: ${m}\n`);

// ---------------------------------------------------------------- Modbus model
const holding = new Uint16Array(1000);
const input = new Uint16Array(1000);
const coils = new Uint8Array(2000);
const discrete = new Uint8Array(2000);
input[0] = 215; // 21.5 °C at scale 0.1
input[1] = 0x4120; // float32 10.0, high word first
input[2] = 0x0000;
const counts = { requests: 0, crcErrors: 0, otherSlave: 0, exceptions: 0 };

function crc16(buf) {
  let crc = 0xffff;
  for (const b of buf) {
    crc ^= b;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}
const withCrc = (bytes) => {
  const b = Buffer.from(bytes);
  const c = crc16(b);
  return Buffer.concat([b, Buffer.from([c & 0xff, c >>> 8])]);
};

/** Expected RTU frame length from what has arrived so far (undefined: need more bytes). */
function frameLength(buf) {
  if (buf.length < 2) return undefined;
  const fn = buf[1];
  if ([1, 2, 3, 4, 5, 6].includes(fn)) return 8;
  if (fn === 15 || fn === 16) return buf.length < 7 ? undefined : 9 + buf[6];
  return 4; // unknown function: address, function, CRC — answered with exception 1
}

function bitsResponse(fn, table, addr, qty) {
  if (qty < 1 || qty > 2000) return exception(fn, 3);
  if (addr + qty > table.length) return exception(fn, 2);
  const bytes = Buffer.alloc(Math.ceil(qty / 8));
  for (let i = 0; i < qty; i++) if (table[addr + i]) bytes[i >> 3] |= 1 << (i & 7);
  return [SLAVE, fn, bytes.length, ...bytes];
}
function wordsResponse(fn, table, addr, qty) {
  if (qty < 1 || qty > 125) return exception(fn, 3);
  if (addr + qty > table.length) return exception(fn, 2);
  const out = [SLAVE, fn, qty * 2];
  for (let i = 0; i < qty; i++) out.push(table[addr + i] >> 8, table[addr + i] & 0xff);
  return out;
}
function exception(fn, code) {
  counts.exceptions++;
  return [SLAVE, fn | 0x80, code];
}

function handle(frame) {
  const fn = frame[1];
  const addr = frame.readUInt16BE(2);
  const arg = frame.length >= 6 ? frame.readUInt16BE(4) : 0;
  switch (fn) {
    case 1:
      return bitsResponse(fn, coils, addr, arg);
    case 2:
      return bitsResponse(fn, discrete, addr, arg);
    case 3:
      return wordsResponse(fn, holding, addr, arg);
    case 4:
      return wordsResponse(fn, input, addr, arg);
    case 5:
      if (arg !== 0xff00 && arg !== 0) return exception(fn, 3);
      if (addr >= coils.length) return exception(fn, 2);
      coils[addr] = arg ? 1 : 0;
      changed();
      return [...frame.subarray(0, 6)];
    case 6:
      if (addr >= holding.length) return exception(fn, 2);
      holding[addr] = arg;
      changed();
      return [...frame.subarray(0, 6)];
    case 15: {
      if (addr + arg > coils.length) return exception(fn, 2);
      for (let i = 0; i < arg; i++) coils[addr + i] = (frame[7 + (i >> 3)] >> (i & 7)) & 1;
      changed();
      return [...frame.subarray(0, 6)];
    }
    case 16: {
      if (arg < 1 || arg > 123 || frame[6] !== arg * 2) return exception(fn, 3);
      if (addr + arg > holding.length) return exception(fn, 2);
      for (let i = 0; i < arg; i++) holding[addr + i] = frame.readUInt16BE(7 + 2 * i);
      changed();
      return [...frame.subarray(0, 6)];
    }
    default:
      return exception(fn, 1);
  }
}

// ---------------------------------------------------------------- state files
function writeJson(name, value) {
  const p = join(STATE_DIR, name);
  writeFileSync(`${p}.tmp`, JSON.stringify(value));
  renameSync(`${p}.tmp`, p);
}
const nonZero = (t) => Object.fromEntries([...t.entries()].filter(([, v]) => v !== 0));
function changed() {
  writeJson('state.json', { holding: nonZero(holding), coils: nonZero(coils), input: nonZero(input.subarray(0, 16)), counts, plugged: { uart1: ports.uart1.want, uart2: ports.uart2.want } });
}

// ---------------------------------------------------------------- the two cables
const ports = {
  uart1: { want: true, sock: undefined, buf: Buffer.alloc(0), onData: modbusData },
  uart2: { want: true, sock: undefined, buf: Buffer.alloc(0), onData: UART2 === 'loopback' ? (p, d) => p.sock?.write(d) : lineData },
};

function modbusData(p, chunk) {
  p.buf = Buffer.concat([p.buf, chunk]);
  for (;;) {
    const n = frameLength(p.buf);
    if (n === undefined || p.buf.length < n) return;
    const frame = p.buf.subarray(0, n);
    p.buf = p.buf.subarray(n);
    if (crc16(frame.subarray(0, n - 2)) !== frame.readUInt16LE(n - 2)) {
      counts.crcErrors++;
      p.buf = Buffer.alloc(0); // resynchronise: a real slave waits for the 3.5-character gap
      continue;
    }
    if (frame[0] !== SLAVE) {
      counts.otherSlave++;
      continue;
    }
    counts.requests++;
    dirty = true;
    p.sock?.write(withCrc(handle(frame)));
  }
}

function lineData(p, chunk) {
  p.buf = Buffer.concat([p.buf, chunk]);
  let i;
  while ((i = p.buf.indexOf(0x0a)) >= 0) {
    const line = p.buf.subarray(0, i).toString('latin1').replace(/\r$/, '');
    p.buf = p.buf.subarray(i + 1);
    const reply = line === 'PING' ? 'PONG' : line === 'READ?' ? `VALUE=${input[0]}` : `ECHO ${line}`;
    p.sock?.write(`${reply}\n`);
  }
}

function plug(name) {
  const p = ports[name];
  if (!p.want || p.sock) return;
  const path = join(UART_DIR, `${name}.sock`);
  if (!existsSync(path)) return void setTimeout(() => plug(name), 50);
  const s = connect(path);
  p.sock = s;
  s.on('connect', () => log(`${name} plugged`));
  s.on('data', (d) => p.onData(p, d));
  s.on('error', () => undefined);
  s.on('close', () => {
    if (p.sock === s) p.sock = undefined;
    if (p.want) setTimeout(() => plug(name), 100);
  });
}
function unplug(name) {
  const p = ports[name];
  p.want = false;
  p.buf = Buffer.alloc(0);
  p.sock?.destroy();
  p.sock = undefined;
  log(`${name} unplugged`);
}

// ---------------------------------------------------------------- control
let lastSeq = -1;
let dirty = false;
function poll() {
  if (dirty) {
    dirty = false;
    changed();
  }
  let ctl;
  try {
    ctl = JSON.parse(readFileSync(join(STATE_DIR, 'control.json'), 'utf8'));
  } catch {
    return;
  }
  if (ctl.seq === lastSeq) return;
  lastSeq = ctl.seq;
  for (const name of ['uart1', 'uart2']) {
    if (ctl[name] === 'unplugged' && ports[name].want) unplug(name);
    if (ctl[name] === 'plugged' && !ports[name].want) {
      ports[name].want = true;
      plug(name);
    }
  }
  for (const [a, v] of Object.entries(ctl.input ?? {})) input[Number(a)] = Number(v);
  for (const [a, v] of Object.entries(ctl.discrete ?? {})) discrete[Number(a)] = Number(v) ? 1 : 0;
  changed();
  writeJson('ack.json', { seq: ctl.seq });
}

changed();
plug('uart1');
plug('uart2');
const timer = setInterval(poll, 50);
const stop = () => {
  clearInterval(timer);
  for (const p of Object.values(ports)) {
    p.want = false;
    p.sock?.destroy();
  }
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
