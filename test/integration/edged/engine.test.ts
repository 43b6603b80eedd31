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

  await relay.down();
  n.apply('Pod', 'during', spec('during'));
  await waitFor(() => (n.store.meta.get('edged.engine') === 'down' ? true : undefined), 'engine reported down');
  // Meanwhile a container of ours disappears (as after an engine restart that lost it).
  const [victim] = await n.containers(['io.edgecore.pod.name=before', 'io.edgecore.role=app']);
  await n.docker.getContainer(victim!.Id).remove({ force: true });

  await relay.up();
  await waitFor(() => (n.store.meta.get('edged.engine') === 'up' ? true : undefined), 'engine reported up', 60_000);
  await n.waitStatus('during', (s) => s.phase === 'Running', 'Running after the engine is back', 60_000);
  const st = await n.waitStatus('before', (s) => s.phase === 'Running' && s.containerStatuses[0]?.containerID !== `docker://${victim!.Id}`, 'recreated', 60_000);
  assert.equal(st.containerStatuses[0]!.ready, true);
  const apps = await n.containers(['io.edgecore.role=app']);
  assert.equal(apps.length, 2);
});
