/** Host resources: hostPath, emptyDir (disk and memory), device passthrough, limits, host ports; cleanup. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { tmpDir } from '../../helpers/tmp.js';
import { pod, startTestNode, waitFor } from './harness.js';

test('hostPath, emptyDir, a passed-through device, limits and a host port; deletion removes the pod folder', async (t) => {
  const n = await startTestNode(t);
  if (!n) return;
  const host = tmpDir(t, 'edged-host-');
  writeFileSync(join(host, 'in.txt'), 'from-host');
  mkdirSync(join(host, 'sub'));
  const hostPort = 20000 + Math.floor(Math.random() * 20000);
  n.apply(
    'Pod',
    'hosty',
    pod('hosty', {
      terminationGracePeriodSeconds: 1,
      volumes: [
        { name: 'shared', hostPath: { path: host, type: 'Directory' } },
        { name: 'scratch', emptyDir: {} },
        { name: 'ram', emptyDir: { medium: 'Memory', sizeLimit: '8Mi' } },
        // any character device works; the test uses /dev/zero (a real board: /dev/ttyUSB0, /dev/i2c-1...)
        { name: 'dev', hostPath: { path: '/dev/zero', type: 'CharDevice' } },
      ],
      containers: [
        {
          name: 'main',
          image: n.image,
          command: ['sh', '-c', 'cat /host/in.txt > /host/sub/out.txt; echo scratch > /scratch/f; mkdir -p /www; echo port-ok > /www/index.html; exec httpd -f -p 8080 -h /www'],
          ports: [{ containerPort: 8080, hostPort }],
          resources: { limits: { memory: '48Mi', cpu: '250m' } },
          volumeMounts: [
            { name: 'shared', mountPath: '/host' },
            { name: 'scratch', mountPath: '/scratch' },
            { name: 'ram', mountPath: '/ram' },
            { name: 'dev', mountPath: '/dev/mydev', readOnly: true },
          ],
        },
      ],
    }),
  );
  const st = await n.waitStatus('hosty', (s) => s.phase === 'Running', 'Running');
  const sh = async (cmd: string): Promise<string> =>
    ((await n.bus.request('edged', { type: 'pod.exec', pod: { namespace: 'default', name: 'hosty' }, command: ['sh', '-c', cmd] })) as { stdout: string }).stdout;
  await waitFor(() => (existsSync(join(host, 'sub/out.txt')) ? true : undefined), 'file written through hostPath');
  assert.equal(readFileSync(join(host, 'sub/out.txt'), 'utf8'), 'from-host');
  assert.equal(await sh('head -c 5 /dev/mydev | wc -c'), '5\n');
  assert.match(await sh('grep " /ram " /proc/mounts'), /^tmpfs \/ram tmpfs/);
  const id = st.containerStatuses[0]!.containerID.replace('docker://', '');
  const info = await n.docker.getContainer(id).inspect();
  assert.equal(info.HostConfig.Memory, 48 * 1024 * 1024);
  assert.equal(info.HostConfig.NanoCpus, 250_000_000);
  const body = await waitFor(
    () =>
      new Promise<string | undefined>((resolve) => {
        get({ host: '127.0.0.1', port: hostPort, path: '/' }, (res) => {
          let b = '';
          res.on('data', (c) => (b += String(c)));
          res.on('end', () => resolve(b));
        }).on('error', () => resolve(undefined));
      }),
    'the host port',
  );
  assert.equal(body, 'port-ok\n');
  const uid = n.store.resources.get({ kind: 'Pod', namespace: 'default', name: 'hosty' })!.uid;
  const podFolder = join(n.dataDir, 'pods', uid);
  assert.ok(existsSync(join(podFolder, 'volumes/scratch/f')));
  n.remove('Pod', 'hosty');
  await waitFor(async () => ((await n.containers()).length === 0 && !existsSync(podFolder) ? true : undefined), 'containers and emptyDir data gone');
  assert.equal(readFileSync(join(host, 'in.txt'), 'utf8'), 'from-host', 'hostPath content is never deleted');
});

test('a missing device waits with CreateContainerConfigError and starts once it exists', async (t) => {
  const n = await startTestNode(t);
  if (!n) return;
  const dir = tmpDir(t, 'edged-dev-');
  const dev = join(dir, 'ttyFAKE0');
  n.apply(
    'Pod',
    'devpod',
    pod('devpod', {
      terminationGracePeriodSeconds: 1,
      volumes: [{ name: 'serial', hostPath: { path: dev, type: 'CharDevice' } }],
      containers: [{ name: 'main', image: n.image, command: ['sleep', '1000'], volumeMounts: [{ name: 'serial', mountPath: '/dev/ttyS9' }] }],
    }),
  );
  const st = await n.waitStatus('devpod', (s) => s.reason === 'CreateContainerConfigError', 'CreateContainerConfigError');
  assert.match(st.message ?? '', /volume serial: hostPath .*ttyFAKE0 does not exist \(type CharDevice\)/);
  assert.equal((await n.containers(['io.edgecore.role=app'])).length, 0);
  // A character device appears at that path (a real board: the adapter is plugged in).
  execFileSync('mknod', [dev, 'c', '1', '5']);
  await n.bus.request('edged', { type: 'edged.resync' });
  await n.waitStatus('devpod', (s) => s.phase === 'Running', 'Running');
});

test('hostNetwork: no sandbox, the container listens on the host, podIP is the host IP', async (t) => {
  const n = await startTestNode(t);
  if (!n) return;
  const port = 20000 + Math.floor(Math.random() * 20000);
  n.apply(
    'Pod',
    'hostnet',
    pod('hostnet', {
      hostNetwork: true,
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: 'web',
          image: n.image,
          command: ['sh', '-c', `mkdir -p /www && echo on-host > /www/index.html && exec httpd -f -p 127.0.0.1:${port} -h /www`],
          ports: [{ containerPort: port, hostPort: port }],
          readinessProbe: { tcpSocket: { port }, periodSeconds: 1 },
        },
      ],
    }),
  );
  const st = await n.waitStatus('hostnet', (s) => s.conditions.some((c) => c.type === 'Ready' && c.status === 'True'), 'Ready');
  assert.equal(st.podIP, st.hostIP);
  assert.equal((await n.containers(['io.edgecore.role=sandbox'])).length, 0);
  const body = await new Promise<string>((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/' }, (res) => {
      let b = '';
      res.on('data', (c) => (b += String(c)));
      res.on('end', () => resolve(b));
    }).on('error', reject);
  });
  assert.equal(body, 'on-host\n');
});
