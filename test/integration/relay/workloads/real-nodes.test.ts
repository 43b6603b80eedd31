/**
 * Workloads on real nodes: `edgerelay run`, three `edgecore run` processes with edged on the one
 * Docker engine (distinct node names and labels), the real kubectl 1.32. A Deployment of 3 spread
 * over the 3 nodes and rolled to a second local image with maxUnavailable 1; one node stopped
 * mid-rollout: the rollout finishes on the others, the Deployment names the node it waits for,
 * the stopped node's pod is not recreated elsewhere, and when the node returns the rollout
 * completes there with no duplicate pod or container. Each pod's Scheduled event is recorded once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nodeReady, waitFor } from '../harness.js';
import { realFleet } from './real-fleet.js';

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
`;

interface PodView {
  name: string;
  node: string;
  image: string;
  deleting: boolean;
}

test('real nodes: a Deployment of 3 over 3 edgecore processes, rolled with maxUnavailable 1; a node stopped mid-rollout is waited for by name, keeps its pod, and completes on its return without duplicates', async (t) => {
  const f = await realFleet(t, 'wl', ['a', 'b', 'c']);
  if (!f) return;
  const { relay, names, nodes, image1, image2, k } = f;
  const pods = (): PodView[] =>
    (JSON.parse(k(['get', 'pods', '-l', 'app=web', '-o', 'json'])) as { items: { metadata: { name: string; deletionTimestamp?: string }; spec: { nodeName?: string; containers: { image: string }[] } }[] }).items.map((p) => ({
      name: p.metadata.name,
      node: p.spec.nodeName ?? '',
      image: p.spec.containers[0]!.image,
      deleting: !!p.metadata.deletionTimestamp,
    }));
  /** the pod containers Docker runs on a node (sandboxes aside), by image */
  const containers = async (node: string): Promise<string[]> => (await f.containers(node)).map((c) => c.slice(c.indexOf('=') + 1)).sort();

  const applied = relay.apply(deployment(image1));
  assert.equal(applied.code, 0, applied.err);
  assert.match(k(['rollout', 'status', 'deployment/web', '--timeout=120s']), /deployment "web" successfully rolled out/);
  assert.deepEqual(pods().map((p) => p.node).sort(), names, 'one replica on each node');
  for (const name of names) assert.deepEqual(await containers(name), [image1], `${name} runs one container of image 1`);
  // the scheduler bound them and says so once per pod (the node link records Scheduled only for pods created bound)
  for (const p of pods()) {
    const events = (JSON.parse(k(['get', 'events', '--field-selector', `involvedObject.name=${p.name},reason=Scheduled`, '-o', 'json'])) as { items: { message: string; count?: number }[] }).items;
    assert.deepEqual(events.map((e) => [e.message, e.count ?? 1]), [[`Successfully assigned default/${p.name} to ${p.node}`, 1]]);
  }

  // c goes away; the rollout to image 2 proceeds on a and b and waits for c by name
  const [a, b, c] = names as [string, string, string];
  await nodes.get(c)!.stop();
  await waitFor(`${c} not Ready`, () => nodeReady(relay, c) === 'Unknown', 60_000, 300);
  k(['set', 'image', 'deployment/web', `c=${image2}`]);
  const progressing = await waitFor(
    'the Deployment names the node it waits for',
    () => {
      const m = relay.kubectl(['get', 'deployment', 'web', '-o', 'jsonpath={.status.conditions[?(@.type=="Progressing")].message}']).out;
      return new RegExp(`Waiting for nodes that are not ready: ${c}\\.$`).test(m) ? m : undefined;
    },
    120_000,
    500,
  );
  assert.match(progressing, /is progressing/);
  await waitFor('a and b run image 2', async () => (await containers(a)).join() === image2 && (await containers(b)).join() === image2, 120_000, 500);
  const during = pods().filter((p) => !p.deleting);
  assert.deepEqual(during.map((p) => `${p.node}=${p.image}`).sort(), [`${a}=${image2}`, `${b}=${image2}`, `${c}=${image1}`], "c keeps its pod; nothing recreated elsewhere");
  assert.equal(relay.kubectl(['rollout', 'status', 'deployment/web', '--timeout=3s']).code, 1, 'rollout status still waits');
  assert.equal(k(['rollout', 'status', 'deployment/web', '--watch=false']), 'Waiting for deployment "web" rollout to finish: 2 out of 3 new replicas have been updated...\n');
  // kubectl's rollout status text is kubectl's own, and describe shows no condition message: the Deployment's events name the nodes waited for
  assert.match(k(['describe', 'deployment', 'web']), new RegExp(`Normal\\s+WaitingForNodes\\s+.*Waiting for nodes that are not ready: ${c}\\.\\n`));
  // c is tainted unreachable:NoExecute, and its pod stays because it tolerates that forever (the edge default)
  await waitFor(`${c} tainted unreachable:NoExecute`, () => k(['get', 'node', c, '-o', 'jsonpath={.spec.taints[?(@.key=="node.kubernetes.io/unreachable")].effect}']).includes('NoExecute'), 60_000, 300);
  const cPod = pods().find((p) => p.node === c && !p.deleting)!;
  const tolerations = JSON.parse(k(['get', 'pod', cPod.name, '-o', 'jsonpath={.spec.tolerations}'])) as { key?: string; effect?: string; tolerationSeconds?: number }[];
  assert.deepEqual(tolerations.filter((x) => x.key === 'node.kubernetes.io/unreachable'), [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' }]);

  // c returns: it gets image 2, and there is exactly one pod and one container per node
  await nodes.get(c)!.start();
  assert.match(k(['rollout', 'status', 'deployment/web', '--timeout=180s']), /successfully rolled out/);
  await waitFor('c runs image 2 only', async () => (await containers(c)).join() === image2, 120_000, 500);
  await waitFor('the old pod is gone', () => pods().length === 3, 60_000, 300);
  assert.deepEqual(pods().map((p) => `${p.node}=${p.image}`).sort(), names.map((n) => `${n}=${image2}`));
  for (const name of names) assert.deepEqual(await containers(name), [image2], `${name}: one container`);
  assert.match(k(['rollout', 'history', 'deployment/web']), /REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>\n/);
});
