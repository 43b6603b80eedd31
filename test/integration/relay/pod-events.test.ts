/**
 * The node's kubelet events for pods that go wrong, end to end: relay and node as processes, edged
 * on the real Docker engine, the real kubectl 1.32. A crash-looping container shows BackOff in
 * `kubectl describe pod`, counted on one Event (count and lastTimestamp move, no new objects); a
 * failing liveness probe shows Unhealthy with what the probe printed and Killing "will be
 * restarted"; a failing readiness probe shows Unhealthy and keeps the pod not Ready.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { ensureTestImage, needDocker } from '../../helpers/docker.js';
import { needService } from '../../helpers/service.js';
import { tmpDir } from '../../helpers/tmp.js';
import { haveKubectl, NodeProc, RelayProc, relayPorts, waitFor } from './harness.js';

const pod = (name: string, node: string, image: string, container: string): string => `apiVersion: v1
kind: Pod
metadata: { name: ${name} }
spec:
  nodeName: ${node}
  terminationGracePeriodSeconds: 1
  containers:
    - name: main
      image: ${image}
      imagePullPolicy: Never
${container}`;

interface EventRow {
  type: string;
  reason: string;
  message: string;
  count: number;
  lastTimestamp: string;
  firstTimestamp: string;
  involvedObject: { fieldPath?: string; uid: string };
  source: { component: string; host: string };
}

test('kubectl describe pod shows the node\'s BackOff for a crash loop (one Event, counted), Unhealthy and Killing for failing probes', async (t) => {
  const docker = await needDocker(t);
  if (!docker || !(await needService(t, 'kubectl 1.32', haveKubectl))) return;
  const image = await ensureTestImage(docker);
  const dir = tmpDir(t, 'edgecore-relay-podevents-');
  const relay = new RelayProc({ dir, ports: await relayPorts() });
  t.after(() => relay.stop('SIGKILL'));
  await relay.start();
  const name = `evnode-${randomBytes(3).toString('hex')}`;
  // short crash-loop backoff: a few restarts within the test
  const node = new NodeProc({ dir, name, join: await relay.join(name), edged: true, devicetwin: false, edgedConfig: { crashLoop: { initialSeconds: 1, maxSeconds: 2 } } });
  t.after(async () => {
    await node.stop('SIGKILL');
    const left = await docker.listContainers({ all: true, filters: { label: [`io.edgecore.node=${name}`] } });
    await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
  });
  await node.start();
  const events = (p: string): EventRow[] => {
    const r = relay.kubectl(['get', 'events', '--field-selector', `involvedObject.name=${p}`, '-o', 'json']);
    assert.equal(r.code, 0, r.err);
    return (JSON.parse(r.out) as { items: EventRow[] }).items;
  };
  const describe = (p: string): string => relay.kubectl(['describe', 'pod', p]).out;

  const crash = relay.apply(pod('crasher', name, image, '      command: ["sh", "-c", "echo bye; exit 3"]\n'));
  assert.equal(crash.code, 0, crash.err);
  const live = relay.apply(
    pod('unlive', name, image, `      command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
      livenessProbe:
        exec: { command: ["sh", "-c", "echo not alive; exit 1"] }
        periodSeconds: 1
        failureThreshold: 2
`),
  );
  assert.equal(live.code, 0, live.err);
  const ready = relay.apply(
    pod('unready', name, image, `      command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
      readinessProbe:
        httpGet: { path: /healthz, port: 8080 }
        periodSeconds: 1
`),
  );
  assert.equal(ready.code, 0, ready.err);

  // BackOff: describe shows it from the kubelet, with the pod as the kubelet names it; repeats are
  // counted on the same Event (x2 and more), never a second BackOff object
  const uid = relay.kubectl(['get', 'pod', 'crasher', '-o', 'jsonpath={.metadata.uid}']).out;
  const backoff = new RegExp(`^\\s+Warning\\s+BackOff\\s+\\S+ \\(x(\\d+) over \\S+\\)\\s+kubelet\\s+Back-off restarting failed container main in pod crasher_default\\(${uid}\\)$`, 'm');
  const crashed = await waitFor('BackOff counted at least twice in describe', () => {
    const out = describe('crasher');
    const m = backoff.exec(out);
    return m && Number(m[1]) >= 2 ? out : undefined;
  }, 90_000, 500);
  assert.match(crashed, /^\s+Normal\s+Started\s+\S+( \(x\d+ over \S+\))?\s+kubelet\s+Started container main$/m);
  assert.match(crashed, /^\s+Normal\s+Created\s+\S+( \(x\d+ over \S+\))?\s+kubelet\s+Created container main$/m);
  const backoffs = events('crasher').filter((e) => e.reason === 'BackOff');
  assert.equal(backoffs.length, 1, 'one Event for the repeats');
  const b = backoffs[0]!;
  assert.ok(b.count >= 2, `count ${b.count}`);
  assert.ok(Date.parse(b.lastTimestamp) >= Date.parse(b.firstTimestamp), 'lastTimestamp moved forward (or stayed)');
  assert.deepEqual([b.type, b.involvedObject.fieldPath, b.involvedObject.uid, b.source.component, b.source.host], ['Warning', 'spec.containers{main}', uid, 'kubelet', name]);
  const status = relay.kubectl(['get', 'pod', 'crasher', '-o', 'jsonpath={.status.containerStatuses[0].restartCount}']).out;
  assert.ok(Number(status) >= 1, `restarted (${status})`);
  // the crashed instance's output, by container, as kubectl logs --previous shows it
  const previous = relay.kubectl(['logs', 'crasher', '-c', 'main', '--previous']);
  assert.equal(previous.code, 0, previous.err);
  assert.equal(previous.out, 'bye\n');

  // a failing liveness probe: Unhealthy with the probe's output, then Killing, then the restart
  const unlive = await waitFor('Unhealthy and Killing in describe', () => {
    const out = describe('unlive');
    return /^\s+Warning\s+Unhealthy\s+.*\s+kubelet\s+Liveness probe failed: not alive$/m.test(out) &&
      /^\s+Normal\s+Killing\s+.*\s+kubelet\s+Container main failed liveness probe, will be restarted$/m.test(out)
      ? out
      : undefined;
  }, 60_000, 500);
  assert.ok(unlive);
  const unhealthy = events('unlive').filter((e) => e.reason === 'Unhealthy');
  assert.equal(unhealthy.length, 1, 'the repeated failure is one Event');
  assert.ok(unhealthy[0]!.count >= 2, `failureThreshold 2: counted (${unhealthy[0]!.count})`);
  await waitFor('unlive restarted', () => Number(relay.kubectl(['get', 'pod', 'unlive', '-o', 'jsonpath={.status.containerStatuses[0].restartCount}']).out) >= 1, 60_000, 500);

  // a failing readiness probe: Unhealthy (nothing listens), the pod Running but not Ready
  const unready = await waitFor('readiness Unhealthy in describe', () => {
    const out = describe('unready');
    return /^\s+Warning\s+Unhealthy\s+.*\s+kubelet\s+Readiness probe failed: Get "http:\/\/[0-9.]+:8080\/healthz": connect ECONNREFUSED [0-9.]+:8080$/m.test(out) ? out : undefined;
  }, 60_000, 500);
  assert.ok(unready);
  assert.match(relay.kubectl(['get', 'pod', 'unready']).out, /^unready\s+0\/1\s+Running\s+0\s/m);
  assert.ok(!events('unready').some((e) => e.reason === 'Killing'), 'readiness never restarts a container');
});
