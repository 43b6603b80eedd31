/**
 * A small fleet of real nodes for the workload tests: `edgerelay run`, N `edgecore run`
 * processes with edged on the one Docker engine (unique node names, their containers found by
 * the node label edged puts on them), the pinned kubectl 1.32, and a watch on pods that records
 * what a user would see happen, in order.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import type Docker from 'dockerode';
import type { KubeObject } from '../../../../src/contract/kube/types.js';
import { ensureTestImage, needDocker } from '../../../helpers/docker.js';
import { needService } from '../../../helpers/service.js';
import { tmpDir } from '../../../helpers/tmp.js';
import { ADMIN, haveKubectl, NodeProc, nodeReady, RelayProc, relayPorts, waitFor } from '../harness.js';

export const IMAGE_2 = 'edgecore-test/busybox:2';

export interface RealFleet {
  docker: Docker;
  relay: RelayProc;
  /** node names, in the order given */
  names: string[];
  nodes: Map<string, NodeProc>;
  image1: string;
  image2: string;
  /** kubectl that must succeed; its stdout */
  k(args: string[]): string;
  /** the running pod containers (sandboxes aside) Docker has for a node, as `pod-name=image`, sorted */
  containers(node: string): Promise<string[]>;
  /** run a command in the running container of a pod (docker exec), its stdout */
  exec(pod: string, cmd: string[]): Promise<string>;
}

/** Start a relay and one real node per suffix; undefined when Docker or kubectl is missing (the test is skipped). */
export async function realFleet(t: TestContext, prefix: string, suffixes: string[], extra?: Record<string, Record<string, unknown>>): Promise<RealFleet | undefined> {
  const docker = await needDocker(t);
  if (!docker || !(await needService(t, 'kubectl 1.32', haveKubectl))) return undefined;
  const image1 = await ensureTestImage(docker);
  const image2 = await ensureTestImage(docker, IMAGE_2);
  const dir = tmpDir(t, `edgecore-${prefix}-`);
  const relay = new RelayProc({ dir, ports: await relayPorts(), ...(extra ? { extra } : {}) });
  t.after(() => relay.stop('SIGKILL'));
  await relay.start();
  const id = randomBytes(3).toString('hex');
  const names = suffixes.map((s) => `${prefix}-${id}-${s}`);
  const nodes = new Map<string, NodeProc>();
  for (const name of names) {
    const node = new NodeProc({ dir, name, join: await relay.join(name), edged: true, devicetwin: false });
    nodes.set(name, node);
    t.after(async () => {
      await node.stop('SIGKILL');
      const left = await docker.listContainers({ all: true, filters: { label: [`io.edgecore.node=${name}`] } });
      await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
    });
    await node.start();
  }
  for (const name of names) await waitFor(`${name} Ready`, () => nodeReady(relay, name) === 'True', 60_000, 300);
  const k = (args: string[]): string => {
    const r = relay.kubectl(args);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}\n${r.out}\n${r.err}`);
    return r.out;
  };
  const running = async (filters: string[]) => (await docker.listContainers({ filters: { label: filters } })).filter((c) => !c.Names.some((n) => n.includes('_sandbox_')));
  return {
    docker,
    relay,
    names,
    nodes,
    image1,
    image2,
    k,
    containers: async (node) => (await running([`io.edgecore.node=${node}`])).map((c) => `${c.Labels['io.edgecore.pod.name']}=${c.Image}`).sort(),
    exec: async (pod, cmd) => {
      const [c] = await running([`io.edgecore.pod.name=${pod}`, `io.edgecore.node`]);
      assert.ok(c, `a running container for pod ${pod}`);
      return execFileSync('docker', ['exec', c.Id, ...cmd], { encoding: 'utf8' });
    },
  };
}

/**
 * Pods of a label selector as a watch sees them: each coming (+image), going (-image) and
 * becoming Ready (ready:name), in order; the fewest Ready and the most active (neither finished
 * nor being deleted) at any moment.
 */
export interface PodWatch {
  order: string[];
  minReady(): number;
  maxActive(): number;
  stop(): void;
}

const isReady = (p: KubeObject) => !p.metadata.deletionTimestamp && ((p.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

export async function watchPods(relay: RelayProc, selector: string, expect: number): Promise<PodWatch> {
  const ctl = new AbortController();
  const res = await relay.fetch()(`${relay.api}/api/v1/namespaces/default/pods?watch=true&labelSelector=${encodeURIComponent(selector)}`, { headers: { authorization: `Bearer ${ADMIN}` }, signal: ctl.signal });
  const ready = new Map<string, boolean>();
  const active = new Map<string, boolean>();
  let maxActive = 0;
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
          const was = ready.get(uid) ?? false;
          if (e.type === 'DELETED') ready.delete(uid);
          else ready.set(uid, isReady(p));
          const phase = (p.status as { phase?: string } | undefined)?.phase ?? '';
          active.set(uid, e.type !== 'DELETED' && !p.metadata.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed');
          maxActive = Math.max(maxActive, [...active.values()].filter(Boolean).length);
          if (!started) continue;
          if (e.type === 'ADDED') order.push(`+${image}`);
          if (p.metadata.deletionTimestamp && !leaving.has(uid)) {
            leaving.add(uid);
            order.push(`-${image}`);
          }
          if (!was && ready.get(uid)) order.push(`ready:${p.metadata.name}`);
          min = Math.min(min, [...ready.values()].filter(Boolean).length);
        }
      }
    } catch {
      // aborted
    }
  })();
  await waitFor('the watch lists the current pods', () => ready.size >= expect);
  started = true;
  return { order, minReady: () => min, maxActive: () => maxActive, stop: () => ctl.abort() };
}
