/**
 * End to end with real pods: relay and node as processes, edged on the real Docker engine, and
 * the real kubectl. apply → Running in `kubectl get pods -o wide` → logs (and a followed stream)
 * from the container through the node and the relay → the relay's Scheduled and the node's Pulled,
 * Created, Started in `kubectl describe` → offline autonomy → `kubectl delete` returns only once
 * the node stopped the containers (its Killing kept among the events), and an offline node's pod
 * stays Terminating until it returns. BackOff and Unhealthy: pod-events.test.ts.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { ensureTestImage, needDocker } from '../../helpers/docker.js';
import { needService } from '../../helpers/service.js';
import { tmpDir } from '../../helpers/tmp.js';
import { haveKubectl, NodeProc, nodeReady, RelayProc, relayPorts, waitFor } from './harness.js';

const podYaml = (name: string, node: string, image: string, grace: number): string => `apiVersion: v1
kind: Pod
metadata: { name: ${name} }
spec:
  nodeName: ${node}
  terminationGracePeriodSeconds: ${grace}
  containers:
    - name: main
      image: ${image}
      imagePullPolicy: Never
      command: ["sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done"]
`;

test('a pod through kubectl: Running on the node, logs, Scheduled/Pulled/Created/Started in describe, offline autonomy, delete --wait after the node stopped it, an offline node keeps it Terminating', async (t) => {
  const docker = await needDocker(t);
  if (!docker || !(await needService(t, 'kubectl 1.32', haveKubectl))) return;
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
  const running = async (pod: string): Promise<string[]> =>
    (await docker.listContainers({ filters: { label: [`io.edgecore.node=${name}`, `io.edgecore.pod.name=${pod}`] } })).filter((c) => !c.Names.some((n) => n.includes('_sandbox_'))).map((c) => c.Id).sort();

  const applied = relay.apply(podYaml('ticker', name, image, 3));
  assert.equal(applied.code, 0, applied.err);
  assert.match(applied.out, /pod\/ticker created/);
  const ready = relay.kubectl(['wait', '--for=condition=Ready', 'pod/ticker', '--timeout=120s']);
  assert.equal(ready.code, 0, ready.err);
  assert.equal(ready.out, 'pod/ticker condition met\n');
  const row = await waitFor('pod Running in kubectl get pods -o wide', () => {
    const r = relay.kubectl(['get', 'pods', '-o', 'wide']);
    return /^ticker\s+1\/1\s+Running\s+0\s+\S+\s+\S+\s+podnode-\S+\s+<none>\s+<none>$/m.test(r.out) ? r.out : undefined;
  }, 60_000, 300);
  assert.match(row, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/m);
  assert.match(row, new RegExp(`\\s${name}\\s`));

  const logs = await waitFor('some log lines', () => {
    const r = relay.kubectl(['logs', 'ticker', '--tail', '2']);
    return r.code === 0 && (r.out.match(/^tick \d+$/gm)?.length ?? 0) === 2 ? r.out : undefined;
  }, 20_000, 300);
  assert.match(logs, /^tick \d+\ntick \d+\n$/);
  // follow: new lines keep coming until we hang up
  const follow = relay.kubectlBackground(['logs', 'ticker', '-f', '--tail', '0']);
  await waitFor('three followed lines', () => (follow.out().match(/tick \d+\n/g)?.length ?? 0) >= 3);
  await follow.stop();
  const nums = [...follow.out().matchAll(/tick (\d+)/g)].map((m) => Number(m[1]));
  assert.ok(nums.every((n, i) => i === 0 || n === nums[i - 1]! + 1), `consecutive lines: ${follow.out()}`);

  // the relay's Scheduled and the node's kubelet events in describe (kubectl sorts them by a
  // time in whole seconds, so their order within one second is not asserted)
  const kubelet = (reason: string, message: string): string => `Normal\\s+${reason}\\s+\\S+\\s+kubelet\\s+${message}`;
  const described = await waitFor('Scheduled, Pulled, Created, Started in kubectl describe pod', () => {
    const r = relay.kubectl(['describe', 'pod', 'ticker']);
    const wanted = [
      `Normal\\s+Scheduled\\s+\\S+\\s+default-scheduler\\s+Successfully assigned default/ticker to ${name}`,
      kubelet('Pulled', `Container image "${image.replace(/[.]/g, '\\.')}" already present on machine`),
      kubelet('Created', 'Created container main'),
      kubelet('Started', 'Started container main'),
    ];
    return wanted.every((w) => new RegExp(`^\\s+${w}$`, 'm').test(r.out)) ? r.out : undefined;
  });
  assert.match(described, /^Events:\n\s+Type\s+Reason\s+Age\s+From\s+Message$/m);
  const uid = relay.kubectl(['get', 'pod', 'ticker', '-o', 'jsonpath={.metadata.uid}']).out;
  const events = await relay.core().listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.uid=${uid}` });
  assert.ok(events.items.some((e) => e.reason === 'Scheduled' && e.involvedObject.uid === uid));
  const started = events.items.find((e) => e.reason === 'Started');
  assert.deepEqual(
    [started?.type, started?.involvedObject.kind, started?.involvedObject.fieldPath, started?.source?.component, started?.source?.host, started?.count],
    ['Normal', 'Pod', 'spec.containers{main}', 'kubelet', name, 1],
  );

  // offline autonomy: relay down, node restarted → the containers keep running, nothing recreated;
  // relay back → the node takes the relay's new version without touching the unchanged pod
  const before = await running('ticker');
  assert.equal(before.length, 1);
  const appliedBefore = node.appliedVersion();
  await relay.stop();
  await node.stop();
  await node.start();
  await new Promise((r) => setTimeout(r, 2000)); // give a (wrong) recreate the chance to happen
  assert.deepEqual(await running('ticker'), before, 'same containers after a node restart without the relay');
  await relay.start();
  await waitFor('node back, on the relay\'s new version', () => nodeReady(relay, name) === 'True' && node.appliedVersion() > appliedBefore);
  assert.deepEqual(await running('ticker'), before, 'same containers after reconnect');

  // delete waits for the node: Terminating while the container still runs (it ignores SIGTERM), gone once stopped
  const del = relay.kubectlBackground(['delete', 'pod', 'ticker']);
  await waitFor('Terminating while the container runs', async () => /^ticker\s+\S+\s+Terminating/m.test(relay.kubectl(['get', 'pods']).out) && (await running('ticker')).length === 1);
  const done = await del.exited;
  assert.equal(done.code, 0, done.err);
  assert.match(done.out, /pod "ticker" deleted/);
  assert.deepEqual(await running('ticker'), [], 'kubectl delete returned only after the node stopped the container');
  assert.equal(relay.kubectl(['get', 'pod', 'ticker']).code, 1);
  // the pod is gone, its events stay (as in Kubernetes): the node's Killing came before its final status
  const killing = relay.kubectl(['get', 'events', '--field-selector', `involvedObject.uid=${uid},reason=Killing`, '-o', 'custom-columns=TYPE:.type,FROM:.source.component,HOST:.source.host,PART:.involvedObject.fieldPath,MSG:.message', '--no-headers']);
  assert.equal(killing.code, 0, killing.err);
  assert.match(killing.out, new RegExp(`^Normal\\s+kubelet\\s+${name}\\s+spec\\.containers\\{main\\}\\s+Stopping container main$`, 'm'));

  // an offline node's pod stays Terminating (past its grace period) until the node returns
  assert.equal(relay.apply(podYaml('sleeper', name, image, 1)).code, 0);
  await waitFor('sleeper Running', () => /^sleeper\s+1\/1\s+Running/m.test(relay.kubectl(['get', 'pods']).out), 60_000, 300);
  await node.stop();
  const gentle = relay.kubectl(['delete', 'pod', 'sleeper', '--wait=false']);
  assert.equal(gentle.code, 0, gentle.err);
  const deadline = Date.parse(relay.kubectl(['get', 'pod', 'sleeper', '-o', 'jsonpath={.metadata.deletionTimestamp}']).out);
  await waitFor('the grace period is over', () => Date.now() > deadline + 1000);
  assert.match(relay.kubectl(['get', 'pods']).out, /^sleeper\s+\S+\s+Terminating/m, 'still Terminating: its node has not confirmed');
  assert.equal((await running('sleeper')).length, 1, 'its container still runs on the offline node');
  await node.start();
  const waited = relay.kubectl(['wait', '--for=delete', 'pod/sleeper', '--timeout=120s']);
  assert.equal(waited.code, 0, waited.err);
  assert.deepEqual(await running('sleeper'), [], 'the returning node stopped it, then the pod went');

  const missing = relay.kubectl(['logs', 'nope']);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /pods "nope" not found/);
});
