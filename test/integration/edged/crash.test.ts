/**
 * A real daemon process (`edgecore run` from source) killed with SIGKILL in the middle of
 * applying a pod, then started again: it adopts what exists and finishes, with no duplicates.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { ensureTestImage, needDocker } from '../../helpers/docker.js';
import { ROOT, tmpDir } from '../../helpers/tmp.js';
import { removeNodeContainers, uniqueName, waitFor } from './harness.js';

function daemon(config: string): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/edgecore/entry.ts'), 'run', '--config', config], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
}

test('kill -9 of the daemon mid-apply, then restart: no duplicate containers, pod converges', async (t) => {
  const docker = await needDocker(t);
  if (!docker) return;
  const image = await ensureTestImage(docker);
  const dir = tmpDir(t, 'edged-crash-');
  const node = uniqueName('crash');
  t.after(() => removeNodeContainers(docker, node));
  const manifests = join(dir, 'manifests');
  mkdirSync(manifests);
  const names = ['a', 'b', 'c', 'd', 'e', 'f'];
  writeFileSync(
    join(manifests, 'many.yaml'),
    stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'many' },
      spec: { terminationGracePeriodSeconds: 1, containers: names.map((n) => ({ name: n, image, command: ['sleep', '1000'] })) },
    }),
  );
  const config = join(dir, 'edgecore.yaml');
  writeFileSync(
    config,
    stringify({
      node: { name: node },
      dataDir: join(dir, 'data'),
      log: { level: 'warn' },
      ops: { port: 0 },
      modules: {
        metamanager: { api: { enabled: false } },
        eventbus: { enabled: false },
        devicetwin: { enabled: false },
        edgehub: { enabled: false },
        edged: { staticPodPath: manifests, resyncSeconds: 2 },
      },
    }),
  );
  const ours = () => docker.listContainers({ all: true, filters: { label: [`io.edgecore.node=${node}`] } });
  const first = daemon(config);
  const exited = new Promise((r) => first.once('exit', r));
  t.after(() => first.kill('SIGKILL'));
  // Kill as soon as the apply has begun (some, not all, containers exist).
  const seen = await waitFor(async () => {
    const n = (await ours()).length;
    return n >= 2 ? n : undefined;
  }, 'the first containers', 60_000);
  first.kill('SIGKILL');
  await exited;
  const atKill = (await ours()).length;
  t.diagnostic(`containers when killed: ${seen} seen, ${atKill} after exit (of ${names.length + 1})`);

  const second = daemon(config);
  t.after(() => second.kill('SIGKILL'));
  const list = await waitFor(async () => {
    const l = await ours();
    return l.length === names.length + 1 && l.every((c) => c.State === 'running') ? l : undefined;
  }, 'all containers running after restart', 60_000);
  const byName = new Map<string, number>();
  for (const c of list) {
    const k = `${c.Labels['io.edgecore.role']}/${c.Labels['io.edgecore.container']}`;
    byName.set(k, (byName.get(k) ?? 0) + 1);
  }
  assert.deepEqual([...byName.values()].filter((v) => v > 1), [], `duplicates: ${JSON.stringify([...byName])}`);
  assert.equal(byName.size, names.length + 1);
  // Adopted, not recreated: every container is the first attempt.
  assert.ok(list.every((c) => c.Labels['io.edgecore.attempt'] === '0'));
  // Stays converged over a resync (no churn).
  await new Promise((r) => setTimeout(r, 2500));
  assert.deepEqual((await ours()).map((c) => c.Id).sort(), list.map((c) => c.Id).sort());
  second.kill('SIGTERM');
  await new Promise((r) => second.once('exit', r));
});
