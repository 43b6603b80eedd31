/** `edgecore check`'s node-status lines, from the built bundle: a fake throttled-flags file (named as such) makes UnderVoltage and Throttled fail — optional, so the check still passes. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { bundlePath } from '../../helpers/bundle.js';
import { tmpDir } from '../../helpers/tmp.js';

test('edgecore check reports node status and its conditions; firmware flags make UnderVoltage and Throttled warnings (optional conditions)', (t) => {
  const dir = tmpDir(t);
  const fake = join(dir, 'get_throttled.fake');
  writeFileSync(fake, '0x50005\n');
  const cfg = join(dir, 'c.yaml');
  // every port 0: check probes the ports the node would hold, and this machine may run a node at the defaults
  writeFileSync(cfg, `dataDir: ${join(dir, 'data')}\nops: { port: 0 }\nmodules:\n  metamanager: { api: { port: 0 } }\n  eventbus: { port: 0 }\n  edged: { enabled: false }\n  nodestatus: { throttledFile: ${fake} }\n`);
  const r = spawnSync(process.execPath, [bundlePath('edgecore'), 'check', '--config', cfg], { encoding: 'utf8' });
  assert.match(r.stdout, /OK\s+node status\s+load [\d.]+ [\d.]+ [\d.]+, \d+ MiB of \d+ MiB free/);
  assert.match(r.stdout, /OK\s+MemoryPressure/);
  assert.match(r.stdout, /OK\s+DiskPressure/);
  assert.match(r.stdout, /WARN UnderVoltage\s+the firmware reports under-voltage now \(throttled=0x50005\)\n\s+fix: /);
  assert.match(r.stdout, /WARN Throttled/);
  assert.equal(r.status, 0, `optional failures do not fail the check:\n${r.stdout}${r.stderr}`);
  writeFileSync(fake, 'garbage');
  const bad = spawnSync(process.execPath, [bundlePath('edgecore'), 'check', '--config', cfg], { encoding: 'utf8' });
  assert.match(bad.stdout, /not a throttled word/);
});
