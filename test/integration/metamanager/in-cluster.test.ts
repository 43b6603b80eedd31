/**
 * An app in a pod reaches the node's MetaServer the way in-cluster clients do, with the relay
 * stopped (edgehub points at a port where nothing listens): a real node daemon, real Docker, a
 * host-network pod of edgecore-test/busybox running @kubernetes/client-node's default (in-cluster)
 * config. busybox has no node, so the pod mounts the host's node executable and the shared
 * libraries `ldd` names for it, read-only, at their own paths, plus this checkout's node_modules
 * — everything through the pod spec's hostPath volumes, nothing added to the image.
 *
 * In the same run: the node status the MetaServer serves and the uplink keeps, checked against
 * /proc and `df`; a fake throttled-flags file (named as such) gives UnderVoltage and Throttled.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseConfig } from '../../../src/config/load.js';
import { nullLogger } from '../../../src/core/logger.js';
import { startNode } from '../../../src/node/daemon.js';
import { Uplink } from '../../../src/store/uplink.js';
import { ensureTestImage, needDocker, TEST_IMAGE } from '../../helpers/docker.js';
import { nodeRuntimeMounts } from '../../helpers/node-runtime.js';
import { ROOT, tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';
import { removeNodeContainers, uniqueName } from '../edged/harness.js';

const DEVICE_API = 'devices.kubeedge.io/v1beta1';

function https(port: number, path: string, token: string, ca: string): Promise<{ code: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca, servername: 'localhost', headers: { authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ code: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('a pod lists and watches pods and devices through client-node in-cluster, relay stopped; node status matches /proc and df', { timeout: 180_000 }, async (t) => {
  const docker = await needDocker(t);
  if (!docker) return;
  await ensureTestImage(docker);
  const name = uniqueName('msn');
  const dir = tmpDir(t, 'metaserver-it-');
  const dataDir = join(dir, 'data');
  const fakeThrottled = join(dir, 'get_throttled.fake');
  writeFileSync(fakeThrottled, '0x50005\n');
  const config = parseConfig({
    node: { name },
    dataDir,
    log: { level: 'silent' },
    ops: { port: 0 },
    modules: {
      metamanager: { api: { port: 0 } },
      eventbus: { port: 0 },
      edged: { staticPodPath: '', resyncSeconds: 5 },
      edgehub: { enabled: true, relay: { url: 'mqtt://127.0.0.1:1' }, reconnect: { initialMs: 200, maxMs: 1000 } },
      nodestatus: { periodSeconds: 1, throttledFile: fakeThrottled },
    },
  });
  const node = await startNode({ config, log: nullLogger(), version: '0.1.0' });
  t.after(async () => {
    await node.stop();
    await removeNodeContainers(docker, name);
  });
  const res = node.store.resources;
  const put = (kind: string, n: string, manifest: unknown) => res.put({ kind, namespace: 'default', name: n }, manifest, { origin: 'local' });

  put('DeviceModel', 'thermostat', { apiVersion: DEVICE_API, kind: 'DeviceModel', metadata: { name: 'thermostat', namespace: 'default' }, spec: { protocol: 'virtual', properties: [{ name: 'setpoint', type: 'INT', accessMode: 'ReadWrite' }] } });
  const device = (labels: Record<string, string>) => ({
    apiVersion: DEVICE_API,
    kind: 'Device',
    metadata: { name: 'thermo-1', namespace: 'default', labels },
    spec: { deviceModelRef: { name: 'thermostat' }, nodeName: name, protocol: { protocolName: 'virtual' }, properties: [{ name: 'setpoint', visitors: { protocolName: 'virtual', configData: { signal: 'echo', initial: 20 } }, collectCycle: 60_000, reportCycle: 60_000 }] },
  });
  put('Device', 'thermo-1', device({ room: 'a' }));

  const app = join(dir, 'app');
  mkdirSync(app);
  copyFileSync(join(ROOT, 'test/integration/metamanager/in-cluster-client.mjs'), join(app, 'client.mjs'));
  const rt = nodeRuntimeMounts();
  put('Pod', 'client', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'client', namespace: 'default', labels: { app: 'client' } },
    spec: {
      hostNetwork: true,
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: 'app',
          image: TEST_IMAGE,
          command: ['/usr/local/bin/node', '/app/client.mjs'],
          volumeMounts: [{ name: 'app', mountPath: '/app', readOnly: true }, { name: 'modules', mountPath: '/node_modules', readOnly: true }, ...rt.mounts],
        },
      ],
      volumes: [{ name: 'app', hostPath: { path: app, type: 'Directory' } }, { name: 'modules', hostPath: { path: realpathSync(join(ROOT, 'node_modules')), type: 'Directory' } }, ...rt.volumes],
    },
  });

  const lines = async (): Promise<{ event: string; [k: string]: unknown }[]> => {
    const [c] = await docker.listContainers({ all: true, filters: { label: [`io.edgecore.node=${name}`, 'io.edgecore.pod.name=client', 'io.edgecore.container=app'] } });
    if (!c) return [];
    const raw = (await docker.getContainer(c.Id).logs({ stdout: true, stderr: true })) as Buffer;
    // docker's multiplexed frames: 8-byte headers before each chunk
    let text = '';
    for (let i = 0; i + 8 <= raw.length; ) {
      const n = raw.readUInt32BE(i + 4);
      text += raw.subarray(i + 8, i + 8 + n).toString('utf8');
      i += 8 + n;
    }
    return text
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { event: string });
  };
  const watching = await waitFor('the client lists and watches', async () => {
    const l = await lines();
    if (l.some((x) => x.event === 'error')) throw new Error(`client failed: ${JSON.stringify(l)}`);
    return l.some((x) => x.event === 'watching') ? l : undefined;
  }, 90_000, 250).catch(async (e: unknown) => {
    throw new Error(`${String(e)}; pod status ${JSON.stringify(res.get({ kind: 'Pod', namespace: 'default', name: 'client' })?.status)}; output ${JSON.stringify(await lines())}`);
  });
  const config0 = watching.find((l) => l.event === 'config')!;
  assert.match(String(config0.server), /^https:\/\/127\.0\.0\.1:\d+$/, 'in-cluster config: KUBERNETES_SERVICE_HOST/PORT of the MetaServer');
  const list = watching.find((l) => l.event === 'list')!;
  assert.deepEqual(list.pods, ['client']);
  assert.deepEqual(list.devices, ['thermo-1']);
  assert.equal(watching.find((l) => l.event === 'other-namespace')!.code, 403, "a pod's token reads its own namespace only");
  assert.equal(node.supervisor.status().find((m) => m.name === 'edgehub')?.state, 'running');

  // a change while it watches: a new pod, and a device relabelled
  put('Pod', 'late', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'late', namespace: 'default' }, spec: { hostNetwork: true, automountServiceAccountToken: false, terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: TEST_IMAGE, command: ['sleep', '3600'] }] } });
  put('Device', 'thermo-1', device({ room: 'b' }));
  const events = await waitFor('the changes arrive on the watches', async () => {
    const w = (await lines()).filter((l) => l.event === 'watch');
    return w.some((e) => e.kind === 'Pod' && e.type === 'ADDED' && e.name === 'late') && w.some((e) => e.kind === 'Device' && e.type === 'MODIFIED' && e.name === 'thermo-1') ? w : undefined;
  }, 60_000, 250);
  assert.ok(!events.some((e) => e.type === 'ERROR'), JSON.stringify(events));

  // the node status, against the kernel and df in the same run
  const admin = readFileSync(join(dataDir, 'metaserver', 'admin.token'), 'utf8');
  const ca = readFileSync(join(dataDir, 'metaserver', 'ca.crt'), 'utf8');
  const port = Number(String(config0.server).split(':').pop());
  const got = await https(port, `/api/v1/nodes/${name}`, admin, ca);
  assert.equal(got.code, 200, got.body);
  const nodeObj = JSON.parse(got.body) as { status: { capacity: Record<string, string>; allocatable: Record<string, string>; conditions: { type: string; status: string; reason: string }[]; nodeInfo: Record<string, string> } };
  const memTotalKi = Number(/^MemTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]);
  assert.equal(nodeObj.status.capacity.memory, `${memTotalKi}Ki`);
  assert.equal(nodeObj.status.capacity.cpu, String(cpus().length));
  const [size, avail] = execFileSync('df', ['-B1', '--output=size,avail', dataDir], { encoding: 'utf8' }).trim().split('\n')[1]!.trim().split(/\s+/).map(Number);
  assert.equal(nodeObj.status.capacity['ephemeral-storage'], `${Math.floor(size! / 1024)}Ki`);
  assert.equal(nodeObj.status.nodeInfo.kernelVersion, readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim());
  assert.match(nodeObj.status.nodeInfo.containerRuntimeVersion!, /^docker:\/\/\d+\./);
  const cond = Object.fromEntries(nodeObj.status.conditions.map((c) => [c.type, c.status]));
  assert.deepEqual(cond, { MemoryPressure: 'False', DiskPressure: 'False', PIDPressure: 'False', UnderVoltage: 'True', Throttled: 'True', Ready: 'True' });
  const host = new Uplink(node.store, name).host();
  const disk = host.usage!.disks.find((d) => d.role === 'data')!;
  assert.equal(disk.totalBytes, size);
  assert.ok(Math.abs(disk.availableBytes - avail!) <= config.modules.nodestatus.deadbands.diskBytes, `data dir free ${disk.availableBytes} vs df ${avail}`);
  assert.ok(host.usage!.disks.some((d) => d.role === 'docker'), "Docker's root is watched too");
  const btime = Number(/^btime (\d+)/m.exec(readFileSync('/proc/stat', 'utf8'))![1]);
  assert.equal(host.usage!.bootTime, new Date(btime * 1000).toISOString());
  assert.equal(host.usage!.processes.max, Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8')));
  // the fake flags cleared: the conditions follow
  writeFileSync(fakeThrottled, '0x50000\n');
  await waitFor('UnderVoltage False', async () => {
    const n = JSON.parse((await https(port, `/api/v1/nodes/${name}`, admin, ca)).body) as typeof nodeObj;
    return n.status.conditions.find((c) => c.type === 'UnderVoltage')?.status === 'False' || undefined;
  }, 20_000, 200);
});
