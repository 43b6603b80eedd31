/**
 * Jobs, scaling and rollout undo on real containers: two `edgecore run` processes with edged on
 * Docker and the real kubectl 1.32. A Job of completions 3, parallelism 2 whose containers
 * really run and exit 0 (a watch sees at most and at least 2 at once); a Job whose container
 * exits 3 stops at backoffLimit with BackoffLimitExceeded, the exit codes as the node reported
 * them; a Deployment scaled to 5 and 0 (containers counted on Docker) and rolled back with
 * `kubectl rollout undo`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from '../harness.js';
import { realFleet, watchPods } from './real-fleet.js';

const job = (name: string, image: string, spec: string, script: string) => `apiVersion: batch/v1
kind: Job
metadata: { name: ${name} }
spec:
${spec}  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers: [ { name: w, image: ${image}, imagePullPolicy: Never, command: [sh, -c, "${script}"] } ]
`;

test('real nodes: a Job with completions 3 and parallelism 2 runs 2 at a time and completes; a failing Job stops at backoffLimit with its reason', async (t) => {
  const f = await realFleet(t, 'jb', ['a', 'b'], { workloads: { jobBackoffSeconds: 0 } });
  if (!f) return;
  const w = await watchPods(f.relay, 'batch.kubernetes.io/job-name=batch', 0);
  t.after(() => w.stop());
  assert.equal(f.relay.apply(job('batch', f.image1, '  completions: 3\n  parallelism: 2\n', 'sleep 2; exit 0')).code, 0);
  f.k(['wait', '--for=condition=complete', 'job/batch', '--timeout=180s']);
  assert.match(f.k(['get', 'jobs', 'batch']), /^NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE\nbatch\s+Complete\s+3\/3\s+\d+s\s+\d+s\n$/);
  const phases = f.k(['get', 'pods', '-l', 'batch.kubernetes.io/job-name=batch', '-o', 'jsonpath={.items[*].status.phase}']).split(' ');
  assert.deepEqual(phases, ['Succeeded', 'Succeeded', 'Succeeded'], 'three pods, each run to success by a node');
  await waitFor('the watch saw the three succeed', () => w.order.filter((o) => o.startsWith('+')).length === 3, 30_000);
  w.stop();
  assert.equal(w.maxActive(), 2, 'parallelism 2: two at once, never three');

  assert.equal(f.relay.apply(job('flaky', f.image1, '  backoffLimit: 1\n', 'exit 3')).code, 0);
  f.k(['wait', '--for=condition=failed', 'job/flaky', '--timeout=180s']);
  assert.equal(f.k(['get', 'job', 'flaky', '-o', 'jsonpath={.status.conditions[?(@.type=="Failed")].reason} {.status.failed}']), 'BackoffLimitExceeded 2');
  assert.match(f.k(['describe', 'job', 'flaky']), /BackoffLimitExceeded\s+.*Job has reached the specified backoff limit/);
  const codes = f.k(['get', 'pods', '-l', 'batch.kubernetes.io/job-name=flaky', '-o', 'jsonpath={.items[*].status.containerStatuses[0].state.terminated.exitCode}']);
  assert.equal(codes, '3 3', 'two pods tried (backoffLimit 1), each exited 3 on its node, no third');
});

const deployment = (image: string) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 3
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      terminationGracePeriodSeconds: 1
      containers: [ { name: c, image: ${image}, imagePullPolicy: Never, command: [sh, -c, "trap 'exit 0' TERM; while true; do sleep 1; done"] } ]
`;

test('real nodes: a Deployment scaled to 5 and to 0, rolled to a new image and back with rollout undo', async (t) => {
  const f = await realFleet(t, 'sc', ['a', 'b']);
  if (!f) return;
  const [a, b] = f.names as [string, string];
  /** the images of web's containers Docker runs, per node */
  const images = async () => [(await f.containers(a)).map((c) => c.split('=')[1]), (await f.containers(b)).map((c) => c.split('=')[1])];
  assert.equal(f.relay.apply(deployment(f.image1)).code, 0);
  assert.match(f.k(['rollout', 'status', 'deployment/web', '--timeout=120s']), /successfully rolled out/);
  assert.equal(f.k(['scale', 'deployment/web', '--replicas=5']), 'deployment.apps/web scaled\n');
  assert.match(f.k(['rollout', 'status', 'deployment/web', '--timeout=120s']), /successfully rolled out/);
  await waitFor('5 containers, spread 3 and 2', async () => (await images()).map((i) => i.length).sort().join() === '2,3', 120_000, 500);
  assert.match(f.k(['get', 'deploy', 'web']), /\nweb\s+5\/5\s+5\s+5\s/);

  f.k(['set', 'image', 'deployment/web', `c=${f.image2}`]);
  assert.match(f.k(['rollout', 'status', 'deployment/web', '--timeout=180s']), /successfully rolled out/);
  await waitFor('5 containers of image 2', async () => (await images()).flat().filter((i) => i === f.image2).length === 5 && (await images()).flat().length === 5, 120_000, 500);
  assert.equal(f.k(['rollout', 'undo', 'deployment/web']), 'deployment.apps/web rolled back\n');
  assert.match(f.k(['rollout', 'status', 'deployment/web', '--timeout=180s']), /successfully rolled out/);
  await waitFor('5 containers of image 1 again', async () => (await images()).flat().filter((i) => i === f.image1).length === 5 && (await images()).flat().length === 5, 120_000, 500);
  assert.match(f.k(['rollout', 'history', 'deployment/web']), /REVISION\s+CHANGE-CAUSE\n2\s+<none>\n3\s+<none>\n\n$/);

  assert.equal(f.k(['scale', 'deployment/web', '--replicas=0']), 'deployment.apps/web scaled\n');
  await waitFor('no pods', () => f.k(['get', 'pods', '-l', 'app=web', '-o', 'name']) === '', 120_000, 500);
  await waitFor('no containers on either node', async () => (await images()).flat().length === 0, 120_000, 500);
  assert.match(f.k(['get', 'deploy', 'web']), /\nweb\s+0\/0\s+0\s+0\s/);
});
