/** ConfigMap/Secret volumes and env, images (pull policy, pull errors) against the real engine. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pod, startTestNode } from './harness.js';

const cm = (name: string, data: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data });
const secret = (name: string, data: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: 'default' },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
});

test('configMap and secret volumes: files, items, modes, updates', async (t) => {
  const n = await startTestNode(t);
  if (!n) return;
  n.apply('ConfigMap', 'settings', cm('settings', { 'app.conf': 'level=debug\n', other: 'x' }));
  n.apply('Secret', 'creds', secret('creds', { token: 's3cr3t' }));
  n.apply(
    'Pod',
    'files',
    pod('files', {
      terminationGracePeriodSeconds: 1,
      volumes: [
        { name: 'conf', configMap: { name: 'settings', defaultMode: 0o640 } },
        { name: 'sec', secret: { secretName: 'creds', items: [{ key: 'token', path: 'dir/tok', mode: 0o400 }] } },
      ],
      containers: [
        {
          name: 'main',
          image: n.image,
          command: ['sleep', '1000'],
          volumeMounts: [
            { name: 'conf', mountPath: '/etc/app' },
            { name: 'sec', mountPath: '/run/secret' },
          ],
        },
      ],
    }),
  );
  await n.waitStatus('files', (s) => s.phase === 'Running', 'Running');
  const sh = async (cmd: string): Promise<string> =>
    ((await n.bus.request('edged', { type: 'pod.exec', pod: { namespace: 'default', name: 'files' }, command: ['sh', '-c', cmd] })) as { stdout: string }).stdout;
  assert.equal(await sh('cat /etc/app/app.conf /run/secret/dir/tok'), 'level=debug\ns3cr3t');
  assert.equal(await sh('stat -L -c %a /etc/app/app.conf /etc/app/other /run/secret/dir/tok'), '640\n640\n400\n');
  // A read-only mount: the container cannot change its configuration.
  assert.match(await sh('echo no > /etc/app/app.conf 2>&1; echo rc=$?'), /rc=1/);
  // An update of the ConfigMap reaches the running container's files.
  n.apply('ConfigMap', 'settings', cm('settings', { 'app.conf': 'level=info\n' }));
  const end = Date.now() + 60_000; // only bounds a failing test
  let now = '';
  while (Date.now() < end && (now = await sh('cat /etc/app/app.conf; ls /etc/app')) !== 'level=info\napp.conf\n') await new Promise((r) => setTimeout(r, 200));
  assert.equal(now, 'level=info\napp.conf\n');
});

test('env from values, configMap/secret keys and envFrom; a missing ConfigMap waits with CreateContainerConfigError', async (t) => {
  const n = await startTestNode(t);
  if (!n) return;
  n.apply('ConfigMap', 'envcm', cm('envcm', { MODE: 'edge', COLOR: 'blue' }));
  n.apply('Secret', 'envsec', secret('envsec', { password: 'hunter2' }));
  n.apply(
    'Pod',
    'envs',
    pod('envs', {
      restartPolicy: 'Never',
      containers: [
        {
          name: 'main',
          image: n.image,
          command: ['sh', '-c', 'echo "$PLAIN $CFG_MODE $CFG_COLOR $PASS $FROM_CM"'],
          env: [
            { name: 'PLAIN', value: 'p' },
            { name: 'PASS', valueFrom: { secretKeyRef: { name: 'envsec', key: 'password' } } },
            { name: 'FROM_CM', valueFrom: { configMapKeyRef: { name: 'envcm', key: 'MODE' } } },
          ],
          envFrom: [{ prefix: 'CFG_', configMapRef: { name: 'envcm' } }],
        },
      ],
    }),
  );
  await n.waitStatus('envs', (s) => s.phase === 'Succeeded', 'Succeeded');
  const logs = (await n.bus.request('edged', { type: 'pod.logs', pod: { namespace: 'default', name: 'envs' } })) as { stream: NodeJS.ReadableStream };
  let text = '';
  for await (const c of logs.stream) text += String(c);
  assert.equal(text, 'p edge blue hunter2 edge\n');

  n.apply('Pod', 'needs', pod('needs', { containers: [{ name: 'main', image: n.image, command: ['sleep', '1'], envFrom: [{ configMapRef: { name: 'absent' } }] }] }));
  const st = await n.waitStatus('needs', (s) => s.reason === 'CreateContainerConfigError', 'CreateContainerConfigError');
  assert.match(st.message ?? '', /ConfigMap default\/absent not found/);
  assert.equal((await n.containers([`io.edgecore.pod.name=needs`])).filter((c) => c.Labels['io.edgecore.role'] !== 'sandbox').length, 0);
  // Creating the ConfigMap lets the pod start.
  n.apply('ConfigMap', 'absent', cm('absent', { A: '1' }));
  await n.waitStatus('needs', (s) => s.phase === 'Running' || s.containerStatuses[0]?.restartCount !== 0 || 'terminated' in s.containerStatuses[0]!.state, 'started');
});

test('images: Never with a missing image, and a failing pull go to ErrImageNeverPull / ImagePullBackOff', async (t) => {
  const n = await startTestNode(t);
  if (!n) return;
  n.apply('Pod', 'never', pod('never', { containers: [{ name: 'main', image: 'edgecore-test/absent:1', imagePullPolicy: 'Never' }] }));
  n.apply('Pod', 'nopull', pod('nopull', { containers: [{ name: 'main', image: '127.0.0.1:9/edgecore-test/absent:1' }] }));
  const reason = (s: { containerStatuses: { state: unknown }[] }): string | undefined => (s.containerStatuses[0]?.state as { waiting?: { reason: string } } | undefined)?.waiting?.reason;
  await n.waitStatus('never', (s) => reason(s) === 'ErrImageNeverPull', 'ErrImageNeverPull');
  await n.waitStatus('nopull', (s) => reason(s) === 'ErrImagePull', 'ErrImagePull');
  const st = await n.waitStatus('nopull', (s) => reason(s) === 'ImagePullBackOff', 'ImagePullBackOff');
  assert.match((st.containerStatuses[0]!.state as { waiting: { message: string } }).waiting.message, /127\.0\.0\.1:9/);
  assert.equal(st.phase, 'Pending');
  assert.equal((await n.containers()).length, 0, 'nothing created for pods whose image is missing');
});
