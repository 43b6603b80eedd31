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

test('edgectl as the kubectl plugin names itself `kubectl edge` (from the file it runs as); otherwise the same program', async () => {
  const { programName } = await import('../../../src/cli/edgectl/main.js');
  assert.equal(programName('/usr/local/bin/kubectl-edge'), 'kubectl edge');
  assert.equal(programName('/opt/edgecore/current/lib/kubectl-edge.js'), 'kubectl edge');
  assert.equal(programName('/work/dist/edgectl.js'), 'edgectl');
  assert.equal(programName(undefined), 'edgectl');
  const out: string[] = [];
  const env = { EDGECTL_SERVER: 'http://127.0.0.1:1', EDGECTL_TOKEN: 't' };
  await assert.rejects(main(['twin', 'get', 'd', '--bogus'], io, env, 'kubectl edge'), /unknown flag --bogus for "kubectl edge twin"/);
  assert.equal(await main(['--help'], { ...io, out: (s) => void out.push(s) }, env, 'kubectl edge'), 0);
  assert.match(out.join(''), /^ {2}kubectl edge telemetry \[NODE\]/m);
});
