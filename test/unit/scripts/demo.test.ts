/** The demo's fixed parts: its ports never collide with edgecore's defaults; a dynamic busybox is refused by name. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseConfig } from '../../../src/config/load.js';
import { nodeListeners } from '../../../src/node/runstate.js';
import { elfInterpreter, findStaticBusybox } from '../../../scripts/busybox-image.mjs';
import { ROOT } from '../../helpers/tmp.js';

const ports = JSON.parse(readFileSync(join(ROOT, 'scripts/demo-ports.json'), 'utf8')) as Record<string, number>;

test('demo ports: distinct, and none is a port a default edgecore (or an MQTT broker) listens on', () => {
  const demo = ['api', 'mqtt', 'ws', 'eventbus'].map((k) => ports[k]!);
  assert.ok(demo.every((p) => Number.isInteger(p) && p > 0), JSON.stringify(ports));
  assert.equal(new Set(demo).size, demo.length, 'distinct');
  const nodeDefaults = nodeListeners(parseConfig({})).map((l) => l.port);
  assert.deepEqual(nodeDefaults.sort((a, b) => a - b), [1884, 10350, 10550], 'the defaults this test guards (eventbus, ops endpoint, MetaServer)');
  for (const p of [...nodeDefaults, 1883, 8083, 8883]) assert.ok(!demo.includes(p), `demo uses ${p}`);
});

/** A minimal ELF64 little-endian header with the given program headers (type, offset, size). */
function elf64(phdrs: [number, number, number][], tail = ''): Buffer {
  const b = Buffer.alloc(64 + phdrs.length * 56 + tail.length);
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = 2;
  b[5] = 1;
  b.writeBigUInt64LE(64n, 32);
  b.writeUInt16LE(56, 54);
  b.writeUInt16LE(phdrs.length, 56);
  phdrs.forEach(([type, off, size], i) => {
    b.writeUInt32LE(type, 64 + i * 56);
    b.writeBigUInt64LE(BigInt(off), 64 + i * 56 + 8);
    b.writeBigUInt64LE(BigInt(size), 64 + i * 56 + 32);
  });
  b.write(tail, 64 + phdrs.length * 56, 'latin1');
  return b;
}

test('ELF interpreter: none for a static binary, the loader path for a dynamic one', () => {
  assert.equal(elfInterpreter(elf64([[1, 0, 0]])), undefined);
  const interp = '/lib/ld-linux-aarch64.so.1\0';
  assert.equal(elfInterpreter(elf64([[1, 0, 0], [3, 64 + 2 * 56, interp.length]], interp)), '/lib/ld-linux-aarch64.so.1');
  assert.throws(() => elfInterpreter(Buffer.from('#!/bin/sh\necho hi\n'.padEnd(64))), /not an ELF/);
  // this machine's node is dynamically linked
  assert.match(elfInterpreter(readFileSync(process.execPath).subarray(0, 65536)) ?? '', /ld-/);
});

test('a dynamically linked busybox is refused, saying why and what to install', () => {
  // process.execPath stands in for Debian's dynamic busybox: what matters is the PT_INTERP
  assert.throws(() => findStaticBusybox([process.execPath]), (e: Error) =>
    e.message.includes(`${process.execPath} is dynamically linked`) && e.message.includes('exec /bin/sh: no such file or directory') && e.message.includes('apt-get install busybox-static'));
  assert.throws(() => findStaticBusybox(['/nonexistent/busybox']), /no busybox found .*busybox-static/);
});
