/**
 * End to end with a real pod: relay and node as processes, edged on the real Docker engine.
 * apply → the pod runs → `edgectl get pods` shows it Running → `edgectl logs` (and a followed
 * stream) come from the container through the node and the relay.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureTestImage, needDocker } from '../../helpers/docker.js';
import { tmpDir } from '../../helpers/tmp.js';
import { ADMIN, NodeProc, RelayProc, relayPorts, waitFor } from './harness.js';

test('apply a pod → Running in edgectl get pods; logs and followed logs through the relay; relay down + node restart keeps the pod running, unchanged after reconnect', async (t) => {
  const docker = await needDocker(t);
  if (!docker) return;
  const image = await ensureTestImage(docker);
  const dir = tmpDir(t, 'edgecore-relay-pod-');
  const relay = new RelayProc({ dir, ports: await relayPorts() });
  t.after(() => relay.stop('SIGKILL'));
  await relay.start();
  const name = `podnode-${randomBytes(3).toString('hex')}`;
  const node = new NodeProc({ dir, name, join: await relay.join(name), edged: true, devicetwin: false });
  t.after(async () => {
    await node.stop('SIGKILL');
    const left = await docker.listContainers({ all: true, filters: { label: [`io.edgecore.node=${name}`] } });
    await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
  });
  await node.start();

  const f = join(dir, 'pod.yaml');
  writeFileSync(
    f,
    `apiVersion: v1
kind: Pod
metadata: { name: ticker }
spec:
  containers:
    - name: main
      image: ${image}
      imagePullPolicy: Never
      command: ["sh", "-c", "i=0; while true; echo tick $i; i=$((i+1)); sleep 0.2; done"]
`.replace('while true; echo', 'while true; do echo'),
  );
  const applied = await relay.ctl('apply', '-f', f);
  assert.equal(applied.code, 0, applied.err);
  assert.match(applied.out, /pod\/ticker created/);

  const row = await waitFor('pod Running in edgectl get pods', async () => {
    const r = await relay.ctl('get', 'pods', '-o', 'wide');
    return /^ticker\s+1\/1\s+Running\s+0\s+\S+\s+\S+\s+podnode-/m.test(r.out) ? r.out : undefined;
  }, 60_000, 300);
  assert.match(row, new RegExp(`${name}$`, 'm'));

  const logs = await waitFor('some log lines', async () => {
    const r = await relay.ctl('logs', 'ticker', '--tail', '2');
    return r.code === 0 && (r.out.match(/^tick \d+$/gm)?.length ?? 0) === 2 ? r.out : undefined;
  }, 20_000, 300);
  assert.match(logs, /^tick \d+\ntick \d+\n$/);

  // follow: new lines keep coming until we hang up
  const ac = new AbortController();
  const res = await relay.fetch()(`${relay.api}/edge/v1/logs/default/ticker?follow=1&tail=0`, { headers: { authorization: `Bearer ${ADMIN}` }, signal: ac.signal });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  let text = '';
  while ((text.match(/tick \d+\n/g)?.length ?? 0) < 3) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  ac.abort();
  const nums = [...text.matchAll(/tick (\d+)/g)].map((m) => Number(m[1]));
  assert.ok(nums.length >= 3 && nums.every((n, i) => i === 0 || n === nums[i - 1]! + 1), `consecutive lines: ${text}`);

  // offline autonomy: relay down, node restarted → the pod keeps running, nothing recreated;
  // relay back → the node reconverges without touching the unchanged pod
  const running = async (): Promise<string[]> =>
    (await docker.listContainers({ filters: { label: [`io.edgecore.node=${name}`, 'io.edgecore.pod.name=ticker'] } })).map((c) => c.Id).sort();
  const before = await running();
  assert.ok(before.length >= 1);
  await relay.stop();
  await node.stop();
  await node.start();
  await new Promise((r) => setTimeout(r, 2000)); // give a (wrong) recreate the chance to happen
  assert.deepEqual(await running(), before, 'same containers after a node restart without the relay');
  await relay.start();
  const want = (await relay.http<{ desiredVersion: number }>('GET', `/edge/v1/nodes/${name}`)).desiredVersion;
  await waitFor('node back in sync', async () => (await relay.http<{ status: string; appliedVersion: number }>('GET', `/edge/v1/nodes/${name}`)).status === 'Ready' && node.appliedVersion() === want);
  assert.deepEqual(await running(), before, 'same containers after reconnect');

  const missing = await relay.ctl('logs', 'nope');
  assert.equal(missing.code, 1);
  assert.match(missing.err, /Pod "default\/nope" not found/);
});
