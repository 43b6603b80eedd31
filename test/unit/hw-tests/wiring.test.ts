import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../../src/core/errors.js';
import { loadWiring } from '../../../hw-tests/suite/wired.js';
import { ROOT, tmpDir } from '../../helpers/tmp.js';

test('the documented wiring example is a valid wiring file', () => {
  const w = loadWiring(join(ROOT, 'hw-tests/wiring.example.yaml'));
  assert.equal(w.gpio.chip, 'pinctrl-rp1');
  assert.deepEqual(w.gpio.tester.lines, { button: 5, door: 6, bounce: 13, led: 19, relay: 26 });
  assert.equal(w.serial?.modbus?.slaveId, 1);
  assert.equal(w.i2c?.tmp102, 0x48);
});

test('a bad wiring file is refused with the field path, before any line is touched', (t) => {
  const dir = tmpDir(t, 'edgecore-wiring-');
  const file = join(dir, 'wiring.yaml');
  const gpio = 'gpio:\n  chip: c\n  lines: { button: 1, led: 2, relay: 3, door: 4, bounce: 5 }\n';
  writeFileSync(file, `${gpio}  tester:\n    lines: { button: 6, led: 7, relay: 8, door: 9 }\n`);
  assert.throws(() => loadWiring(file), (e) => e instanceof ConfigError && /gpio\.tester\.lines\.bounce/.test(e.message));
  writeFileSync(file, `${gpio}  tester:\n    lines: { button: 6, led: 7, relay: 8, door: 9, bounce: 10 }\nserial:\n  modbus: { port: ttyUSB0 }\n`);
  assert.throws(() => loadWiring(file), (e) => e instanceof ConfigError && /serial\.modbus\.port/.test(e.message));
  // a tester line on one of the daemon's own pins cannot be a jumper
  writeFileSync(file, `${gpio}  tester:\n    lines: { button: 6, led: 7, relay: 8, door: 9, bounce: 1 }\n`);
  assert.throws(() => loadWiring(file), (e) => e instanceof ConfigError && /gpio\.tester\.lines\.bounce: offset 1 is the daemon's button line/.test(e.message));
});
