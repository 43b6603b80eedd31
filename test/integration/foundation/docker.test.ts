/** A real dockerode call against the engine, with the locally imported test image. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { bundlePath } from '../../helpers/bundle.js';
import { DOCKER_SOCKET, ensureTestImage, needDocker } from '../../helpers/docker.js';
import { tmpDir } from '../../helpers/tmp.js';

test('the engine runs a container from the local test image and returns its output', async (t) => {
  const docker = await needDocker(t);
  if (!docker) return;
  const image = await ensureTestImage(docker);
  const name = `edgecore-foundation-${randomBytes(4).toString('hex')}`;
  const c = await docker.createContainer({ Image: image, name, Cmd: ['sh', '-c', 'echo hello-from-$(uname -s)'], Labels: { 'io.edgecore.test': 'foundation' } });
  t.after(() => c.remove({ force: true }).catch(() => undefined));
  await c.start();
  const res = (await c.wait()) as { StatusCode: number };
  assert.equal(res.StatusCode, 0);
  const logs = (await c.logs({ stdout: true, stderr: true })) as Buffer;
  assert.match(logs.toString('latin1'), /hello-from-Linux/);
});

test('edgecore check reports the engine and its API version', async (t) => {
  const docker = await needDocker(t);
  if (!docker) return;
  const v = await docker.version();
  const dir = tmpDir(t);
  const cfg = join(dir, 'c.yaml');
  writeFileSync(cfg, `dataDir: ${join(dir, 'data')}\npaths:\n  dockerSocket: ${DOCKER_SOCKET}\nmodules:\n  eventbus:\n    port: 0\n`);
  const r = spawnSync(process.execPath, [bundlePath('edgecore'), 'check', '--config', cfg], { encoding: 'utf8' });
  assert.match(r.stdout, new RegExp(`OK\\s+docker\\s+engine ${v.Version.replace(/[.+]/g, '\\$&')}, API ${v.ApiVersion}`));
  assert.match(r.stdout, /OK\s+data dir/);
  const broken = join(dir, 'b.yaml');
  writeFileSync(broken, `dataDir: ${join(dir, 'data')}\npaths:\n  dockerSocket: ${join(dir, 'no.sock')}\nmodules:\n  eventbus:\n    port: 0\n`);
  const r2 = spawnSync(process.execPath, [bundlePath('edgecore'), 'check', '--config', broken], { encoding: 'utf8' });
  assert.equal(r2.status, 1);
  assert.match(r2.stdout, /FAIL docker\s+no socket at .*no\.sock\n\s+fix: /);
});
