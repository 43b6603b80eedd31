/**
 * `kubectl top` end to end: relay and node as processes, edged on the real Docker engine, the
 * real kubectl 1.32. The node samples its containers' stats with the node status (every second
 * here) and reports them; `kubectl top pods` and `kubectl top nodes` show them through the
 * relay's metrics.k8s.io. A pod that spins shows more CPU than one that sleeps (an ordering,
 * not a threshold).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { ensureTestImage, needDocker } from '../../helpers/docker.js';
import { needService } from '../../helpers/service.js';
import { tmpDir } from '../../helpers/tmp.js';
import { haveKubectl, NodeProc, relayPorts, RelayProc, waitFor } from './harness.js';

const podYaml = (name: string, node: string, image: string, script: string): string => `apiVersion: v1
kind: Pod
metadata: { name: ${name}, labels: { app: top-test } }
spec:
  nodeName: ${node}
  terminationGracePeriodSeconds: 1
  containers:
    - name: main
      image: ${image}
      imagePullPolicy: Never
      command: ["sh", "-c", "${script}"]
`;

const millis = (cpu: string): number => (cpu.endsWith('m') ? Number(cpu.slice(0, -1)) : Number(cpu) * 1000);

test('kubectl top pods and top nodes show a real node and its pods through the relay', async (t) => {
  const docker = await needDocker(t);
  if (!docker || !(await needService(t, 'kubectl 1.32', haveKubectl))) return;
  const image = await ensureTestImage(docker);
  const dir = tmpDir(t, 'edgecore-top-');
  const relay = new RelayProc({ dir, ports: await relayPorts() });
  t.after(() => relay.stop('SIGKILL'));
  await relay.start();
  const name = `topnode-${randomBytes(3).toString('hex')}`;
  const node = new NodeProc({ dir, name, join: await relay.join(name), edged: true, devicetwin: false, nodestatus: { periodSeconds: 1 } });
  t.after(async () => {
    await node.stop('SIGKILL');
    const left = await docker.listContainers({ all: true, filters: { label: [`io.edgecore.node=${name}`] } });
    await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
  });
  await node.start();

  // no pods yet: the group is discovered (else "Metrics API not available") and the list is empty
  const early = relay.kubectl(['top', 'pods']);
  assert.equal(early.code, 0, early.err);
  assert.match(early.err + early.out, /No resources found in default namespace/);

  assert.equal(relay.apply(podYaml('spinner', name, image, 'while true; do :; done')).code, 0);
  assert.equal(relay.apply(podYaml('sleeper', name, image, 'sleep 100000')).code, 0);
  const rows = await waitFor('both pods in kubectl top pods', () => {
    const r = relay.kubectl(['top', 'pods']);
    if (r.code !== 0) return undefined;
    const found = Object.fromEntries([...r.out.matchAll(/^(spinner|sleeper)\s+(\d+m?)\s+(\d+)Mi\s*$/gm)].map((m) => [m[1], { cpu: millis(m[2]!), mem: Number(m[3]) }]));
    return found.spinner && found.sleeper ? { out: r.out, found } : undefined;
  }, 90_000, 500);
  assert.match(rows.out, /^NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)\s*$/m);
  assert.ok(rows.found.spinner!.cpu > rows.found.sleeper!.cpu, `the spinning pod uses more CPU: ${rows.out}`);

  const containers = relay.kubectl(['top', 'pod', 'spinner', '--containers']);
  assert.equal(containers.code, 0, containers.err);
  assert.match(containers.out, /^POD\s+NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)\s*$/m);
  assert.match(containers.out, /^spinner\s+main\s+\d+m?\s+\d+Mi\s*$/m);
  const selected = relay.kubectl(['top', 'pods', '-l', 'app=top-test', '-A']);
  assert.equal(selected.code, 0, selected.err);
  assert.match(selected.out, /^default\s+sleeper\s+/m);

  const nodes = await waitFor('the node in kubectl top nodes', () => {
    const r = relay.kubectl(['top', 'nodes']);
    return r.code === 0 && new RegExp(`^${name}\\s+\\d+m?\\s+\\d+%\\s+\\d+Mi\\s+\\d+%\\s*$`, 'm').test(r.out) ? r.out : undefined;
  }, 30_000, 500);
  assert.match(nodes, /^NAME\s+CPU\(cores\)\s+CPU(\(%\)|%)\s+MEMORY\(bytes\)\s+MEMORY(\(%\)|%)\s*$/m);
  const cores = millis(new RegExp(`^${name}\\s+(\\d+m?)`, 'm').exec(nodes)![1]!);
  assert.ok(cores >= rows.found.spinner!.cpu * 0.5, `the node's CPU includes its spinning pod: ${nodes}`);

  // the same through the API as JSON (what client libraries read)
  const list = JSON.parse(relay.kubectl(['get', '--raw', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods']).out) as { kind: string; items: { metadata: { name: string }; window: string; containers: { name: string; usage: { cpu: string; memory: string } }[] }[] };
  assert.equal(list.kind, 'PodMetricsList');
  const spinner = list.items.find((i) => i.metadata.name === 'spinner')!;
  assert.match(spinner.containers[0]!.usage.cpu, /^\d+n$/);
  assert.match(spinner.containers[0]!.usage.memory, /^\d+Ki$/);
  assert.match(spinner.window, /^[\d.]+s$/);

  // a deleted pod leaves top at once (the API no longer has it), whatever the node last said
  assert.equal(relay.kubectl(['delete', 'pod', 'spinner', '--wait=true']).code, 0);
  assert.doesNotMatch(relay.kubectl(['top', 'pods']).out, /^spinner\s/m);
});
