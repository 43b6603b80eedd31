import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { main } from '../../../src/cli/edgectl/main.js';
import { tmpDir } from '../../helpers/tmp.js';

const io = { out: () => undefined, err: () => undefined, now: () => new Date() };

test('edgectl: a missing --ca-file is said plainly, naming the file, before any request', async (t) => {
  const missing = join(tmpDir(t), 'ca.crt');
  await assert.rejects(main(['telemetry', '--server', 'https://127.0.0.1:1', '--token', 't', '--ca-file', missing], io, {}), (e: Error) => e.message === `CA file ${missing} not found`);
  // a directory is not a CA file either: said as such, still naming it
  const dir = tmpDir(t);
  await assert.rejects(main(['telemetry', '--server', 'https://127.0.0.1:1', '--token', 't', '--ca-file', dir], io, {}), (e: Error) => e.message.startsWith(`CA file ${dir} cannot be read: `));
});
