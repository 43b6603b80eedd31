/**
 * Workloads through a real `edgerelay run` and the real kubectl 1.32: Deployments (apply,
 * rollout status/history/undo/restart/pause/resume, scale, get), DaemonSets, Jobs and their
 * `kubectl get` columns. The nodes are real `edgecore run` processes joined through the relay
 * (their Node objects, readiness and allocatable come from the node link); what their pods do is
 * played by a named fake kubelet (fake-http-nodes.ts: edged is off, so no container runs) —
 * real pods on real nodes are real-nodes.test.ts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, test, type TestContext } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../../../../src/contract/kube/types.js';
import { needService } from '../../../helpers/service.js';
import { waitFor } from '../../../helpers/wait.js';
import { ADMIN, haveKubectl, KUBECTL, NodeProc, RelayProc, relayPorts } from '../harness.js';
import { FakeHttpNodes } from './fake-http-nodes.js';

let relay: RelayProc;
let dir: string;
let nodes: FakeHttpNodes;
const procs: NodeProc[] = [];
const id = randomBytes(3).toString('hex');
const [n1, n2, n3] = [1, 2, 3].map((i) => `wk-${id}-${i}`) as [string, string, string];
const ok = async (t: TestContext): Promise<boolean> => needService(t, 'kubectl 1.32', haveKubectl);

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** kubectl without blocking this process's event loop (the fake kubelet in this process keeps working meanwhile) */
function k(args: string[], input = ''): Promise<Run> {
  const child = spawn(KUBECTL, ['--cache-dir', join(dir, 'kube-cache'), ...args], { cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: dir, KUBECONFIG: relay.kubeconfig }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(input);
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  return new Promise((resolve) =>
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    }),
  );
}
const succeed = async (args: string[], input?: string): Promise<string> => {
  const r = await k(args, input);
  assert.equal(r.status, 0, `kubectl ${args.join(' ')}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgecore-workloads-'));
  relay = new RelayProc({ dir, ports: await relayPorts(), extra: { workloads: { jobBackoffSeconds: 0 } } });
  await relay.start();
  nodes = new FakeHttpNodes(relay.api, ADMIN, relay.caPem);
  for (const name of [n1, n2, n3]) {
    const node = new NodeProc({ dir, name, join: await relay.join(name), edged: false, devicetwin: false });
    procs.push(node);
    await node.start();
    nodes.up.add(name);
  }
  for (const name of [n1, n2, n3]) {
    await waitFor(`${name} Ready`, async () => (await k(['get', 'node', name, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).stdout === 'True', 60_000, 300);
  }
  nodes.start();
});
after(async () => {
  nodes?.stop();
  for (const p of procs) await p.stop('SIGKILL');
  await relay?.stop('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const deploy = (image: string) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 3
  strategy: { type: RollingUpdate, rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } }
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [ { name: c, image: ${image} } ] }
`;

/** Pods of app=web as a watch sees them: the order of comings and goings, and the fewest ready at any moment. */
async function watchWeb(): Promise<{ order: string[]; minReady: () => number; stop: () => void }> {
  const ctl = new AbortController();
  const res = await relay.fetch()(`${relay.api}/api/v1/namespaces/default/pods?watch=true&labelSelector=app%3Dweb`, { headers: { authorization: `Bearer ${ADMIN}` }, signal: ctl.signal });
  const state = new Map<string, boolean>();
  const order: string[] = [];
  const leaving = new Set<string>();
  let min = Number.POSITIVE_INFINITY;
  let started = false;
  void (async () => {
    const dec = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += dec.decode(chunk, { stream: true });
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          const e = JSON.parse(buf.slice(0, i)) as { type: string; object: KubeObject };
          buf = buf.slice(i + 1);
          const p = e.object;
          const uid = p.metadata.uid!;
          const image = (p.spec as { containers: { image: string }[] }).containers[0]!.image;
          const rdy = !p.metadata.deletionTimestamp && ((p.status as { conditions?: { type: string; status: string }[] }).conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
          if (e.type === 'DELETED') state.delete(uid);
          else state.set(uid, rdy);
          if (started && e.type === 'ADDED') order.push(`+${image}`);
          if (started && p.metadata.deletionTimestamp && !leaving.has(uid)) {
            leaving.add(uid);
            order.push(`-${image}`);
          }
          if (started) min = Math.min(min, [...state.values()].filter(Boolean).length);
        }
      }
    } catch {
      // aborted
    }
  })();
  await waitFor('the watch lists the current pods', async () => state.size >= 3);
  started = true;
  return { order, minReady: () => min, stop: () => ctl.abort() };
}

test('a Deployment of 3 over 3 nodes: rollout status, get, an image change with maxUnavailable 1 in order, history, undo', async (t) => {
  if (!(await ok(t))) return;
  assert.equal(await succeed(['apply', '-f', '-'], deploy('edgecore-test/busybox:1')), 'deployment.apps/web created\n');
  assert.match(await succeed(['rollout', 'status', 'deployment/web', '--timeout=60s']), /deployment "web" successfully rolled out/);
  assert.match(await succeed(['get', 'deployment', 'web']), /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\nweb\s+3\/3\s+3\s+3\s+\d+s\n$/);
  assert.match(await succeed(['get', 'deploy', 'web', '-o', 'wide']), /CONTAINERS\s+IMAGES\s+SELECTOR\nweb\s+3\/3\s+3\s+3\s+\S+\s+c\s+edgecore-test\/busybox:1\s+app=web\n/);
  const spread = (await succeed(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[*].spec.nodeName}'])).split(' ').sort();
  assert.deepEqual(spread, [n1, n2, n3]);
  assert.match(await succeed(['get', 'rs']), /^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE\nweb-[a-z0-9]+\s+3\s+3\s+3\s+/);

  const w = await watchWeb();
  assert.equal(await succeed(['set', 'image', 'deployment/web', 'c=edgecore-test/busybox:2']), 'deployment.apps/web image updated\n');
  assert.match(await succeed(['rollout', 'status', 'deployment/web', '--timeout=60s']), /Waiting for deployment "web" rollout to finish|successfully rolled out/);
  await waitFor('all three updated', async () => (await succeed(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[*].spec.containers[0].image}'])).split(' ').filter((i) => i === 'edgecore-test/busybox:2').length === 3);
  w.stop();
  assert.ok(w.minReady() >= 2, `never fewer than 2 of 3 ready (saw ${w.minReady()})`);
  assert.deepEqual(w.order, ['-edgecore-test/busybox:1', '+edgecore-test/busybox:2', '-edgecore-test/busybox:1', '+edgecore-test/busybox:2', '-edgecore-test/busybox:1', '+edgecore-test/busybox:2']);
  assert.match(await succeed(['rollout', 'history', 'deployment/web']), /REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>\n/);
  assert.match(await succeed(['rollout', 'history', 'deployment/web', '--revision=1']), /Image:\s+edgecore-test\/busybox:1/);

  assert.equal(await succeed(['rollout', 'undo', 'deployment/web']), 'deployment.apps/web rolled back\n');
  assert.match(await succeed(['rollout', 'status', 'deployment/web', '--timeout=60s']), /successfully rolled out/);
  await waitFor('back on image 1', async () => (await succeed(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[*].spec.containers[0].image}'])).split(' ').every((i) => i === 'edgecore-test/busybox:1'));
  assert.match(await succeed(['rollout', 'history', 'deployment/web']), /REVISION\s+CHANGE-CAUSE\n2\s+<none>\n3\s+<none>\n\n$/);
});

test('scale to 5 and to 0; restart, pause and resume', async (t) => {
  if (!(await ok(t))) return;
  assert.equal(await succeed(['scale', 'deployment/web', '--replicas=5']), 'deployment.apps/web scaled\n');
  await waitFor('5 ready', async () => /^web\s+5\/5\s+5\s+5\s/m.test(await succeed(['get', 'deploy', 'web'])));
  const rv = await succeed(['get', 'deploy', 'web', '-o', 'jsonpath={.metadata.resourceVersion}']);
  assert.equal((await k(['scale', 'deployment/web', '--replicas=4', '--resource-version=1'])).status, 1, 'a stale resourceVersion is a conflict');
  assert.equal(await succeed(['scale', 'deployment/web', '--replicas=0', '--current-replicas=5', `--resource-version=${rv}`]), 'deployment.apps/web scaled\n');
  await waitFor('no pods', async () => await succeed(['get', 'pods', '-l', 'app=web', '-o', 'name']) === '');
  assert.match(await succeed(['get', 'deploy', 'web']), /^web\s+0\/0\s+0\s+0\s/m);
  await succeed(['scale', 'deployment/web', '--replicas=2']);
  assert.equal((await succeed(['rollout', 'restart', 'deployment/web'])).trim(), 'deployment.apps/web restarted');
  assert.equal(await succeed(['rollout', 'pause', 'deployment/web']), 'deployment.apps/web paused\n');
  assert.equal((await k(['rollout', 'restart', 'deployment/web'])).status, 1, 'kubectl refuses to restart a paused deployment');
  assert.equal((await k(['rollout', 'undo', 'deployment/web'])).status, 1, 'a paused deployment cannot be rolled back');
  assert.equal(await succeed(['get', 'deploy', 'web', '-o', 'jsonpath={.status.conditions[?(@.type=="Progressing")].reason}']), 'DeploymentPaused');
  assert.equal(await succeed(['rollout', 'resume', 'deployment/web']), 'deployment.apps/web resumed\n');
  assert.match(await succeed(['rollout', 'status', 'deployment/web', '--timeout=60s']), /successfully rolled out/);
  assert.match(await succeed(['rollout', 'history', 'deployment/web']), /CHANGE-CAUSE\n2\s+<none>\n3\s+<none>\n4\s+<none>\n\n$/);
});

test('a DaemonSet on nodes labelled mapper=modbus; a node labelled later gets its pod; kubectl get ds', async (t) => {
  if (!(await ok(t))) return;
  await succeed(['label', 'node', n1, n2, 'mapper=modbus']);
  await succeed(
    ['apply', '-f', '-'],
    'apiVersion: apps/v1\nkind: DaemonSet\nmetadata: { name: mapper }\nspec:\n  selector: { matchLabels: { app: mapper } }\n  template:\n    metadata: { labels: { app: mapper } }\n    spec:\n      nodeSelector: { mapper: modbus }\n      containers: [ { name: m, image: edgecore-test/busybox:1 } ]\n',
  );
  assert.match(await succeed(['rollout', 'status', 'ds/mapper', '--timeout=60s']), /daemon set "mapper" successfully rolled out/);
  assert.match(await succeed(['get', 'ds', 'mapper']), /^NAME\s+DESIRED\s+CURRENT\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+NODE SELECTOR\s+AGE\nmapper\s+2\s+2\s+2\s+2\s+2\s+mapper=modbus\s+\d+s\n$/);
  await succeed(['label', 'node', n3, 'mapper=modbus']);
  await waitFor('n3 gets its pod', async () => (await succeed(['get', 'pods', '-l', 'app=mapper', '-o', 'jsonpath={.items[*].spec.nodeName}'])).split(' ').sort().join() === [n1, n2, n3].join());
  assert.match(await succeed(['rollout', 'status', 'ds/mapper', '--timeout=60s']), /successfully rolled out/);
});

test('Jobs: completions 3 parallelism 2 complete; a failing one stops at backoffLimit with its reason; kubectl get jobs', async (t) => {
  if (!(await ok(t))) return;
  nodes.outcome = (p) => (p.metadata.labels?.['batch.kubernetes.io/job-name'] === 'flaky' ? 'fail' : p.metadata.labels?.['batch.kubernetes.io/job-name'] ? 'succeed' : 'run');
  const job = (name: string, spec: string) => `apiVersion: batch/v1\nkind: Job\nmetadata: { name: ${name} }\nspec:\n${spec}  template:\n    spec:\n      restartPolicy: Never\n      containers: [ { name: w, image: edgecore-test/busybox:1 } ]\n`;
  await succeed(['apply', '-f', '-'], job('batch', '  completions: 3\n  parallelism: 2\n'));
  await succeed(['wait', '--for=condition=complete', 'job/batch', '--timeout=60s']);
  assert.match(await succeed(['get', 'jobs', 'batch']), /^NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE\nbatch\s+Complete\s+3\/3\s+\d+s\s+\d+s\n$/);
  await succeed(['apply', '-f', '-'], job('flaky', '  backoffLimit: 1\n'));
  await succeed(['wait', '--for=condition=failed', 'job/flaky', '--timeout=60s']);
  assert.equal(await succeed(['get', 'job', 'flaky', '-o', 'jsonpath={.status.conditions[?(@.type=="Failed")].reason} {.status.failed}']), 'BackoffLimitExceeded 2');
  assert.match(await succeed(['get', 'jobs', 'flaky']), /\nflaky\s+Failed\s+0\/1\s/);
  assert.match(await succeed(['describe', 'job', 'flaky']), /BackoffLimitExceeded\s+.*Job has reached the specified backoff limit/);
});
