/**
 * The engine goes away and comes back. The shared dockerd is not restarted (other suites use it):
 * edged talks to it through a unix-socket relay this test closes and reopens, so for edged the
 * engine is gone (connections refused, socket absent) exactly as when dockerd restarts.
 */
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DOCKER_SOCKET } from '../../helpers/docker.js';
import { tmpDir } from '../../helpers/tmp.js';
import { pod, startTestNode, waitFor } from './harness.js';

class SocketRelay {
  private server?: Server;
  private readonly open = new Set<Socket>();
  constructor(readonly path: string) {}
  async up(): Promise<void> {
    rmSync(this.path, { force: true });
    this.server = createServer((client) => {
      const upstream = connect(DOCKER_SOCKET);
      for (const s of [client, upstream]) {
        this.open.add(s);
        s.on('close', () => this.open.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => this.server!.listen(this.path, r));
  }
  async down(): Promise<void> {
    for (const s of this.open) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server = undefined;
    rmSync(this.path, { force: true });
  }
}

test('engine unreachable: edged reports it, keeps trying, and converges when it is back', async (t) => {
  const relay = new SocketRelay(join(tmpDir(t, 'edged-sock-'), 'docker.sock'));
  await relay.up();
  t.after(() => relay.down());
  const n = await startTestNode(t, {}, relay.path);
  if (!n) return;
  const spec = (name: string) => pod(name, { terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: n.image, command: ['sleep', '1000'] }] });
  n.apply('Pod', 'before', spec('before'));
  await n.waitStatus('before', (s) => s.phase === 'Running', 'Running');

  const runtime = () => JSON.parse(n.store.meta.get('node.runtime') ?? '{}') as { ready?: boolean; message?: string };
  await relay.down();
  n.apply('Pod', 'during', spec('during'));
  await waitFor(() => (n.store.meta.get('edged.engine') === 'down' ? true : undefined), 'engine reported down');
  // The node and its pods say so: the node's runtime state (edgehub's report carries it) and a pod reason.
  await waitFor(() => (runtime().ready === false ? true : undefined), 'node runtime not ready');
  assert.match(runtime().message ?? '', /does not answer/);
  const away = await n.waitStatus('before', (s) => s.reason === 'ContainerRuntimeDown', 'pod reason while the engine is away');
  assert.equal(away.conditions.find((c) => c.type === 'Ready')?.status, 'False');
  const pending = await n.waitStatus('during', (s) => s.reason === 'ContainerRuntimeDown', 'a pod applied meanwhile says so too');
  assert.equal((pending.containerStatuses[0]!.state as { waiting?: { reason: string } }).waiting?.reason, 'ContainerRuntimeDown', 'not ContainerCreating');
  // Meanwhile a container of ours disappears (as after an engine restart that lost it).
  const [victim] = await n.containers(['io.edgecore.pod.name=before', 'io.edgecore.role=app']);
  await n.docker.getContainer(victim!.Id).remove({ force: true });

  await relay.up();
  await waitFor(() => (n.store.meta.get('edged.engine') === 'up' ? true : undefined), 'engine reported up', 60_000);
  assert.deepEqual(runtime(), { ready: true });
  await n.waitStatus('during', (s) => s.phase === 'Running', 'Running after the engine is back', 60_000);
  const st = await n.waitStatus('before', (s) => s.phase === 'Running' && s.containerStatuses[0]?.containerID !== `docker://${victim!.Id}`, 'recreated', 60_000);
  assert.equal(st.containerStatuses[0]!.ready, true);
  assert.equal(st.reason, undefined);
  assert.equal(st.containerStatuses[0]!.restartCount, 1, 'a container the engine lost is replaced and counted as a restart');
  const apps = await n.containers(['io.edgecore.role=app']);
  assert.equal(apps.length, 2);
});
