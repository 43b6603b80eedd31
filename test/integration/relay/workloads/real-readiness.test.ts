/**
 * Readiness gates a rollout on real nodes: three `edgecore run` processes with edged on Docker,
 * a Deployment of 3 whose pods have an exec readinessProbe the test controls (a file in the
 * container). The real node's probes decide Ready; the test holds each new pod not Ready until
 * the node has probed it and failed several times, and checks that the rollout (maxUnavailable
 * 1, maxSurge 0) has not gone further meanwhile: never a second old pod taken down before the
 * new one is Ready, never fewer than 2 Ready, `kubectl rollout status` and the Deployment's
 * readyReplicas saying so. Then it makes the pod Ready and the rollout takes its next step.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from '../harness.js';
import { realFleet, watchPods, type RealFleet } from './real-fleet.js';

const deployment = (image: string) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 3
  strategy: { type: RollingUpdate, rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } }
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: c
          image: ${image}
          imagePullPolicy: Never
          command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
          readinessProbe:
            exec: { command: ["sh", "-c", "echo probed >> /tmp/probes; test -e /tmp/ready"] }
            periodSeconds: 1
`;

interface PodView {
  name: string;
  image: string;
  deleting: boolean;
  phase: string;
  ready: string;
}

const pods = (f: RealFleet): PodView[] =>
  (
    JSON.parse(f.k(['get', 'pods', '-l', 'app=web', '-o', 'json'])) as {
      items: { metadata: { name: string; deletionTimestamp?: string }; spec: { containers: { image: string }[] }; status: { phase?: string; conditions?: { type: string; status: string }[] } }[];
    }
  ).items.map((p) => ({
    name: p.metadata.name,
    image: p.spec.containers[0]!.image,
    deleting: !!p.metadata.deletionTimestamp,
    phase: p.status.phase ?? '',
    ready: (p.status.conditions ?? []).find((c) => c.type === 'Ready')?.status ?? '',
  }));

/** Wait until the node has run the pod's readiness probe `n` times (each run appends a line in the container). */
const probedTimes = (f: RealFleet, pod: string, n: number) =>
  waitFor(`${pod} probed ${n} times`, async () => Number((await f.exec(pod, ['sh', '-c', 'wc -l < /tmp/probes'])).trim()) >= n, 120_000, 500);

const status = (f: RealFleet) => f.k(['get', 'deployment', 'web', '-o', 'jsonpath={.status.updatedReplicas}/{.status.readyReplicas}/{.status.availableReplicas}']);

test('real nodes: readiness from the node\'s probes gates a rolling update (maxUnavailable 1): each step waits for the new pod to be Ready', async (t) => {
  const f = await realFleet(t, 'rd', ['a', 'b', 'c']);
  if (!f) return;
  const applied = f.relay.apply(deployment(f.image1));
  assert.equal(applied.code, 0, applied.err);

  // first rollout: the pods run but are not Ready until the file exists; rollout status says so
  await waitFor('3 pods running', () => pods(f).filter((p) => p.phase === 'Running').length === 3, 120_000, 500);
  for (const p of pods(f)) await probedTimes(f, p.name, 3);
  assert.deepEqual(pods(f).map((p) => p.ready), ['False', 'False', 'False'], 'the node reports its failing probes as not Ready');
  await waitFor('the Deployment counts none ready', () => /^3\/0?\/0?$/.test(status(f)), 60_000, 300);
  assert.equal(f.k(['rollout', 'status', 'deployment/web', '--watch=false']), 'Waiting for deployment "web" rollout to finish: 0 of 3 updated replicas are available...\n');
  for (const p of pods(f)) await f.exec(p.name, ['touch', '/tmp/ready']);
  assert.match(f.k(['rollout', 'status', 'deployment/web', '--timeout=120s']), /deployment "web" successfully rolled out/);
  assert.equal(status(f), '3/3/3');

  const w = await watchPods(f.relay, 'app=web', 3);
  t.after(() => w.stop());
  f.k(['set', 'image', 'deployment/web', `c=${f.image2}`]);
  const madeReady: string[] = [];
  for (let step = 1; step <= 3; step++) {
    const fresh: PodView = await waitFor(
      `new pod ${step} running`,
      () => pods(f).find((p) => p.image === f.image2 && !p.deleting && p.phase === 'Running' && !madeReady.includes(p.name)),
      120_000,
      500,
    );
    // the node has probed the new pod and failed it several times: the rollout must still be at this step
    await probedTimes(f, fresh.name, 4);
    const now: PodView[] = pods(f).filter((p) => !p.deleting);
    assert.equal(now.filter((p) => p.image === f.image2).length, step, `step ${step}: no further new pod while ${fresh.name} is not Ready`);
    assert.equal(now.filter((p) => p.image === f.image1).length, 3 - step, `step ${step}: no further old pod taken down`);
    assert.equal(now.find((p) => p.name === fresh.name)!.ready, 'False');
    await waitFor(`the Deployment: ${step} updated, 2 ready`, () => status(f) === `${step}/2/2`, 60_000, 300);
    const expected =
      step < 3 ? `Waiting for deployment "web" rollout to finish: ${step} out of 3 new replicas have been updated...\n` : 'Waiting for deployment "web" rollout to finish: 2 of 3 updated replicas are available...\n';
    assert.equal(f.k(['rollout', 'status', 'deployment/web', '--watch=false']), expected);
    await f.exec(fresh.name, ['touch', '/tmp/ready']);
    madeReady.push(fresh.name);
  }
  assert.match(f.k(['rollout', 'status', 'deployment/web', '--timeout=120s']), /deployment "web" successfully rolled out/);
  await waitFor('the old pods are gone', () => pods(f).length === 3, 60_000, 300);
  // kubectl runs synchronously here: let the watch catch up with the last pod's Ready
  await waitFor('the watch sees the last pod Ready', () => w.order.includes(`ready:${madeReady[2]}`), 30_000);
  w.stop();
  assert.equal(status(f), '3/3/3');
  // Per step: one old pod leaves and one new pod is made, then the test makes that new pod Ready.
  // The Deployment scales the old ReplicaSet down before the new one up, but the two ReplicaSets'
  // pod deletion and creation are independent work (as in Kubernetes): their order within a step is
  // not fixed. What is: nothing of step n+1 before the pod of step n is Ready.
  const steps = madeReady.map((name, i) => {
    const part = w.order.slice(3 * i, 3 * i + 3);
    return { moves: part.slice(0, 2).sort(), ready: part[2] ?? '', name };
  });
  assert.equal(w.order.length, 9, `three steps of three events: ${w.order.join(' ')}`);
  for (const s of steps) {
    assert.deepEqual(s.moves, [`+${f.image2}`, `-${f.image1}`].sort(), `each step: one old pod goes, one new pod comes (${w.order.join(' ')})`);
    assert.equal(s.ready, `ready:${s.name}`, `each old pod goes only after the previous new pod is Ready, in the order the test made them Ready (${w.order.join(' ')})`);
  }
  assert.ok(w.minReady() >= 2, `never fewer than 2 of 3 Ready (saw ${w.minReady()})`);
  for (const name of f.names) assert.equal((await f.containers(name)).length, 1, `${name}: one container`);
});
