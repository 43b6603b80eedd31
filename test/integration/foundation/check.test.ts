/**
 * `edgecore check` as a real process: it changes nothing, and it tells a port held by the node
 * running with the same data dir (its run record) from a port held by something else.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { bundlePath, startProcess } from '../../helpers/bundle.js';
import { tmpDir } from '../../helpers/tmp.js';

/** `edgecore check`, asynchronously (the test process holds listeners that must keep answering) */
function check(config: string): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [bundlePath('edgecore'), 'check', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (out += d));
    c.on('exit', (status) => resolve({ status, out }));
  });
}

const line = (out: string, name: string): string => out.split('\n').find((l) => l.slice(5).startsWith(name)) ?? `(no "${name}" line in:\n${out})`;

async function listen(port = 0): Promise<Server> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(port, '127.0.0.1', r));
  return s;
}
const portOf = (s: Server): number => (s.address() as AddressInfo).port;
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => listen()));
  const ports = servers.map(portOf);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** a node config on private ports (ops: 0 = any free port unless given), so nothing collides with a node at the defaults */
function config(dir: string, eventbusPort: number, apiPort: number, opsPort = 0): string {
  const file = join(dir, `edgecore-${eventbusPort}.yaml`);
  writeFileSync(
    file,
    JSON.stringify({
      node: { name: 'check-test' },
      dataDir: join(dir, 'data'),
      log: { format: 'json' },
      shutdownTimeoutSeconds: 5,
      ops: { port: opsPort },
      modules: { metamanager: { api: { port: apiPort } }, eventbus: { port: eventbusPort }, edged: { enabled: false }, devicetwin: { enabled: false }, nodestatus: { enabled: false } },
    }),
  );
  return file;
}

test('check creates nothing: a missing data dir is reported as to-be-created and stays missing', async (t) => {
  const dir = tmpDir(t);
  const [eb, api] = await freePorts(2);
  const r = await check(config(dir, eb!, api!));
  assert.equal(r.status, 0, r.out);
  assert.match(line(r.out, 'data dir'), /^OK .*does not exist yet; edgecore run creates it/);
  assert.equal(existsSync(join(dir, 'data')), false, 'check created the data dir');
});

test('check: ports held by the running node are its own; a port held by another process is named as such', async (t) => {
  const dir = tmpDir(t);
  const [eb, api, ops] = await freePorts(3);
  const cfg = config(dir, eb!, api!, ops!);
  const node = startProcess('edgecore', ['run', '--config', cfg]);
  t.after(() => node.child.kill('SIGKILL'));
  await node.waitFor(/"msg":"edgecore ready"/);
  assert.ok(existsSync(join(dir, 'data', 'edgecore.run.json')), 'the running node keeps a run record');

  const own = await check(cfg);
  assert.equal(own.status, 0, own.out);
  assert.match(line(own.out, 'eventbus broker'), new RegExp(`^OK .*:${eb} is held by this node \\(edgecore pid ${node.child.pid}`));
  assert.match(line(own.out, 'MetaServer'), new RegExp(`^OK .*:${api} is held by this node \\(edgecore pid ${node.child.pid}`));
  assert.match(line(own.out, 'ops endpoint'), new RegExp(`^OK .*:${ops} is held by this node \\(edgecore pid ${node.child.pid}`));
  assert.match(line(own.out, 'data dir'), new RegExp(`in use by the running edgecore, pid ${node.child.pid}`));

  // the same node's config, but its eventbus port now collides with a listener of this test process
  const foreign = await listen();
  t.after(() => foreign.close());
  const other = await check(config(dir, portOf(foreign), api!, ops!));
  assert.equal(other.status, 1, other.out);
  assert.match(line(other.out, 'eventbus broker'), new RegExp(`^FAIL .*:${portOf(foreign)}: held by pid ${process.pid} \\(`));
  assert.match(other.out, /fix: stop what holds the port, or set modules\.eventbus\.port/);

  node.child.kill('SIGTERM');
  assert.equal((await node.exited).code, 0);
  assert.equal(existsSync(join(dir, 'data', 'edgecore.run.json')), false, 'the record goes with the node');
  // after the stop the same ports are free again and nobody claims them
  const after = await check(cfg);
  assert.match(line(after.out, 'eventbus broker'), new RegExp(`^OK +eventbus broker +can listen on 127\\.0\\.0\\.1:${eb}$`));
});

test('check: a stale run record (its process is gone) does not make a foreign listener "this node"', async (t) => {
  const dir = tmpDir(t);
  const foreign = await listen();
  t.after(() => foreign.close());
  const [api] = await freePorts(1);
  const cfg = config(dir, portOf(foreign), api!);
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(dir, 'data'));
  // a pid that cannot be alive (beyond pid_max), claiming the port
  writeFileSync(join(dir, 'data', 'edgecore.run.json'), JSON.stringify({ pid: 2 ** 22 + 1, version: 'x', listening: [{ name: 'eventbus broker', host: '127.0.0.1', port: portOf(foreign) }] }));
  const r = await check(cfg);
  assert.equal(r.status, 1, r.out);
  assert.match(line(r.out, 'eventbus broker'), /^FAIL .*held by pid /);
});

test('check on a board without Docker: the fix names modules.edged.enabled: false', async (t) => {
  const dir = tmpDir(t);
  const [eb, api] = await freePorts(2);
  const file = join(dir, 'no-docker.yaml');
  writeFileSync(
    file,
    JSON.stringify({
      dataDir: join(dir, 'data'),
      paths: { dockerSocket: join(dir, 'no-such-docker.sock') },
      ops: { port: 0 },
      modules: { metamanager: { api: { port: api } }, eventbus: { port: eb }, devicetwin: { enabled: false }, nodestatus: { enabled: false } },
    }),
  );
  const r = await check(file);
  assert.equal(r.status, 1, r.out);
  assert.match(line(r.out, 'docker'), /^FAIL .*no socket at /);
  assert.match(r.out, /fix: install and start Docker .*on a board without containers set modules\.edged\.enabled: false/);
});
