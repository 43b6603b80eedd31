/**
 * DaemonSets on real nodes: three `edgecore run` processes with edged on Docker, labelled,
 * tainted and cordoned with the real kubectl 1.32. nodeSelector and required node affinity (In,
 * Exists, NotIn) pick the nodes — and the nodes admit those pods, judging them against the labels
 * kubectl gave their Node (sent to them in their documents); a NoSchedule taint keeps a daemon pod off unless tolerated; a cordoned node
 * still gets its daemon pods (Kubernetes' unschedulable toleration for daemon pods); a node
 * labelled later gets its pods and loses the one whose NotIn no longer matches. What runs is
 * read off Docker on each node.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from '../harness.js';
import { realFleet, type RealFleet } from './real-fleet.js';

const daemonSet = (name: string, image: string, podSpec: string) => `apiVersion: apps/v1
kind: DaemonSet
metadata: { name: ${name} }
spec:
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      terminationGracePeriodSeconds: 1
${podSpec}      containers:
        - name: m
          image: ${image}
          imagePullPolicy: Never
          command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
`;

const required = (expr: string) => `      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms: [ { matchExpressions: [ ${expr} ] } ]
`;

/** the daemon sets whose containers run on each node: `node: ds,ds` */
async function running(f: RealFleet): Promise<string[]> {
  const out: string[] = [];
  for (const n of f.names) {
    const sets = (await f.containers(n)).map((c) => c.split('=')[0]!.replace(/-[a-z0-9]+$/, ''));
    out.push(`${n.slice(-1)}: ${sets.sort().join(',')}`);
  }
  return out;
}

/** wait until the placement is `want`; on a timeout, fail with what Docker and the API showed last */
async function placement(f: RealFleet, want: string, what: string): Promise<void> {
  let last = '';
  try {
    await waitFor(what, async () => (last = (await running(f)).join(' | ')) === want, 120_000, 500);
  } catch {
    assert.equal(last, want, `${what}\n${f.k(['get', 'pods', '-o', 'wide'])}`);
  }
}

test('real nodes: DaemonSets by required node affinity (In, Exists, NotIn), a tainted node only where tolerated, a cordoned node still served, a node labelled later', async (t) => {
  const f = await realFleet(t, 'ds', ['a', 'b', 'c']);
  if (!f) return;
  const [a, b, c] = f.names as [string, string, string];
  f.k(['label', 'node', a, b, 'mapper=modbus']);
  assert.equal(f.k(['taint', 'node', b, 'dedicated=gpu:NoSchedule']), `node/${b} tainted\n`);
  assert.equal(f.k(['cordon', a]), `node/${a} cordoned\n`);
  await waitFor(`${a} carries the unschedulable taint`, () => f.k(['get', 'node', a, '-o', 'jsonpath={.spec.taints[*].key}']).includes('node.kubernetes.io/unschedulable'), 30_000, 300);

  for (const manifest of [
    daemonSet('modbus', f.image1, required('{ key: mapper, operator: In, values: [modbus] }')),
    daemonSet('gpu', f.image1, `${required('{ key: mapper, operator: Exists }')}      tolerations: [ { key: dedicated, operator: Equal, value: gpu, effect: NoSchedule } ]\n`),
    daemonSet('other', f.image1, required('{ key: mapper, operator: NotIn, values: [modbus] }')),
    daemonSet('sel', f.image1, '      nodeSelector: { mapper: modbus }\n'),
  ]) {
    const r = f.relay.apply(manifest);
    assert.equal(r.code, 0, r.err);
  }
  for (const ds of ['modbus', 'gpu', 'other', 'sel']) assert.match(f.k(['rollout', 'status', `ds/${ds}`, '--timeout=120s']), new RegExp(`daemon set "${ds}" successfully rolled out`));
  await placement(f, 'a: gpu,modbus,sel | b: gpu | c: other', 'the containers as placed');
  assert.match(
    f.k(['get', 'ds', 'modbus', 'gpu', 'other', 'sel']),
    /\nmodbus\s+1\s+1\s+1\s+1\s+1\s+<none>\s+\S+\ngpu\s+2\s+2\s+2\s+2\s+2\s+<none>\s+\S+\nother\s+1\s+1\s+1\s+1\s+1\s+<none>\s+\S+\nsel\s+1\s+1\s+1\s+1\s+1\s+mapper=modbus\s+\S+\n$/,
  );
  // an ordinary pod is still kept off the cordoned node, with kube-scheduler's reason
  const plain = f.relay.apply(`apiVersion: v1\nkind: Pod\nmetadata: { name: plain }\nspec:\n${required('{ key: mapper, operator: In, values: [modbus] }').replace(/^ {4}/gm, '')}  terminationGracePeriodSeconds: 1\n  containers: [ { name: c, image: ${f.image1}, imagePullPolicy: Never, command: [sh, -c, "trap 'exit 0' TERM; while true; do sleep 1; done"] } ]\n`);
  assert.equal(plain.code, 0, plain.err);
  const why = await waitFor('plain is unschedulable', () => f.k(['get', 'pod', 'plain', '-o', 'jsonpath={.status.conditions[?(@.type=="PodScheduled")].message}']) || undefined, 30_000, 300);
  assert.equal(why, '0/3 nodes are available: 1 node(s) didn\'t match Pod\'s node affinity/selector, 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) were unschedulable.');


  // c gets the label: it gets the modbus and gpu pods, and its NotIn pod goes
  f.k(['label', 'node', c, 'mapper=modbus']);
  // the nodes run what kubectl's labels ask for: c admits the pods its new label lets in (its Node's labels reach it)
  await placement(f, 'a: gpu,modbus,sel | b: gpu | c: gpu,modbus,plain,sel', 'c runs modbus, gpu, sel and plain (bound now), not other');
  for (const ds of ['modbus', 'gpu', 'sel']) assert.match(f.k(['rollout', 'status', `ds/${ds}`, '--timeout=120s']), /successfully rolled out/);
  await waitFor('other has no pods', () => f.k(['get', 'pods', '-l', 'app=other', '-o', 'name']) === '', 60_000, 300);
  assert.match(f.k(['get', 'ds', 'other']), /\nother\s+0\s+0\s+0\s+0\s+0\s+<none>\s+\S+\n$/);
  // exactly one daemon pod per node and set (no duplicates), each bound where its container runs
  const placed = f.k(['get', 'pods', '-l', 'app in (modbus,gpu,sel)', '-o', 'jsonpath={range .items[*]}{.metadata.labels.app}@{.spec.nodeName}{"\\n"}{end}']).trim().split('\n').sort();
  assert.deepEqual(placed, [`gpu@${a}`, `gpu@${b}`, `gpu@${c}`, `modbus@${a}`, `modbus@${c}`, `sel@${a}`, `sel@${c}`].sort());
  assert.equal(f.k(['get', 'pod', 'plain', '-o', 'jsonpath={.spec.nodeName} {.status.phase}']), `${c} Running`, 'plain is bound once c matches, and c runs it');
});
