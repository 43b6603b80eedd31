/**
 * scripts/demo.mjs as a user runs it in a terminal: started as the leader of its own process
 * group (what a shell does for a foreground job), stopped with SIGINT to that whole group (what
 * Ctrl-C does). The relay and the node must each get exactly one signal and stop gracefully —
 * never "second signal: exiting now". Real Docker (edged is enabled in the demo), private data
 * dir and ephemeral ports.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { bundlePath } from '../../helpers/bundle.js';
import { needDocker } from '../../helpers/docker.js';
import { ROOT, tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((r) => { const s = createServer(); s.listen(0, '127.0.0.1', () => r(s)); })),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

test('demo: Ctrl-C (SIGINT to the foreground process group) stops relay and node gracefully, one signal each', async (t) => {
  if (!(await needDocker(t))) return;
  bundlePath('edgecore'); // dist/ built
  const dir = tmpDir(t);
  const [api, mqtt, ws, eventbus] = await freePorts(4);
  const node = `demo-sig-${process.pid}`;
  // detached: the demo leads a new process group, as a shell's foreground job does
  const demo = spawn(process.execPath, [join(ROOT, 'scripts/demo.mjs')], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      EDGECORE_DEMO_DIR: dir,
      EDGECORE_DEMO_API: String(api),
      EDGECORE_DEMO_MQTT: String(mqtt),
      EDGECORE_DEMO_WS: String(ws),
      EDGECORE_DEMO_EVENTBUS: String(eventbus),
      EDGECORE_DEMO_NODE: node,
    },
  });
  let out = '';
  demo.stdout.on('data', (d) => (out += d));
  demo.stderr.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => demo.once('exit', (code, signal) => r({ code, signal })));
  t.after(() => {
    try {
      process.kill(-demo.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  await waitFor(`the demo running with the node ready\n${out}`, () => /Relay and node are running/.test(out) && /\[edgecore\] edgecore ready/.test(out), 120_000, 200);

  process.kill(-demo.pid!, 'SIGINT'); // the terminal's Ctrl-C: the whole foreground group
  const { code, signal } = await exited;
  assert.equal(signal, null, out);
  assert.equal(code, 0, out);
  assert.doesNotMatch(out, /second signal/, 'a program got a second signal');
  const received = [...out.matchAll(/\[(edgecore|edgerelay)\] signal received signal=(\w+)/g)].map((m) => `${m[1]} ${m[2]}`).sort();
  assert.deepEqual(received, ['edgecore SIGINT', 'edgerelay SIGINT'], out);
  assert.match(out, /\[edgecore\] edgecore stopped/);
  // ordering: the node finished its stop before the demo exited (the demo waited for it)
  assert.ok(out.indexOf('[edgecore] edgecore stopped') > out.indexOf('SIGINT: stopping'), out);
});
