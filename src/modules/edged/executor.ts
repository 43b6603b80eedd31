/**
 * Runs a plan's steps against the engine. Steps of one pod run in order and stop at that pod's
 * first failure (the next loop re-plans from what the engine then shows); pods run concurrently.
 */
import { dockerConfigAuths, type RegistryAuth } from '../../contract/resources/secret.js';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { resolveEnv, type Lookups, type SandboxSettings } from './desired.js';
import { containerCreateOptions, sandboxCreateOptions } from './dockerspec.js';
import type { Engine } from './engine.js';
import type { DesiredPod, ObservedContainer, PullFailure, Step } from './model.js';
import { serviceAccountOf, wantsToken, writeServiceAccount, type IssueToken, type PodApiAccess } from './serviceaccount.js';
import { prepareVolumes, removePodDir } from './volumes.js';

export interface ExecContext {
  engine: Engine;
  dataDir: string;
  desired: Map<string, DesiredPod>;
  observed: ObservedContainer[];
  lookups: Lookups;
  sandbox: SandboxSettings;
  pulls: Map<string, PullFailure>;
  now: () => number;
  log: Logger;
  concurrency?: number;
  /** a pod's service-account token for the MetaServer (absent: none mounted) */
  issueToken?: IssueToken;
}

/** The token files of a pod that wants them, written fresh; undefined when it does not or none is issued. */
async function apiAccess(x: ExecContext, d: DesiredPod): Promise<PodApiAccess | undefined> {
  const pod = d.pod!;
  if (!x.issueToken || !wantsToken(pod)) return undefined;
  const m = await x.issueToken({ namespace: d.namespace, name: d.name, uid: d.uid }, serviceAccountOf(pod));
  return m ? writeServiceAccount(x.dataDir, d.uid, pod, m) : undefined;
}

export interface StepError {
  step: Step;
  error: string;
}

/** Registry host of an image reference (Docker Hub when the first part is not a host). */
export function registryOf(image: string): string {
  const first = image.split('/')[0]!;
  return image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost') ? first : 'docker.io';
}

function authFor(d: DesiredPod | undefined, image: string, lk: Lookups): RegistryAuth | undefined {
  const host = registryOf(image);
  for (const ref of d?.pod?.spec.imagePullSecrets ?? []) {
    const s = lk.secretObject(d!.namespace, ref.name);
    if (typeof s === 'string' || s.type !== 'kubernetes.io/dockerconfigjson') continue;
    const auths = dockerConfigAuths(s);
    const a = auths.get(host) ?? (host === 'docker.io' ? (auths.get('index.docker.io') ?? auths.get('registry-1.docker.io')) : undefined);
    if (a) return a;
  }
  return undefined;
}

async function runStep(s: Step, x: ExecContext, sandboxName: Map<string, string>, access: Map<string, PodApiAccess | undefined>): Promise<void> {
  const d = x.desired.get(s.pod);
  const id = d ? { namespace: d.namespace, name: d.name, uid: d.uid, node: x.engine.node } : undefined;
  switch (s.op) {
    case 'pull': {
      const started = x.now();
      let last = 0;
      try {
        await x.engine.pull(s.image, authFor(d, s.image, x.lookups), (line) => {
          if (x.now() - last < 2000) return;
          last = x.now();
          x.log.info('pulling image', { image: s.image, progress: line });
        });
        x.pulls.delete(s.image);
        x.log.info('image pulled', { image: s.image, ms: x.now() - started });
      } catch (e) {
        const prev = x.pulls.get(s.image);
        x.pulls.set(s.image, { attempts: (prev?.attempts ?? 0) + 1, lastAt: x.now(), message: `pull ${s.image}: ${errorMessage(e)}` });
        throw e;
      }
      return;
    }
    case 'volumes':
      prepareVolumes(x.dataDir, s.pod, d!.pod!, x.lookups);
      access.set(s.pod, await apiAccess(x, d!));
      return;
    case 'create': {
      const pod = d!.pod!;
      let opts;
      if (s.role === 'sandbox') {
        opts = sandboxCreateOptions(id!, pod, { image: d!.sandboxImage, command: x.sandbox.command, network: x.sandbox.network, hash: d!.sandboxHash, attempt: s.attempt, ...(x.sandbox.clusterDns ? { clusterDns: x.sandbox.clusterDns } : {}) });
        sandboxName.set(s.pod, opts.name!);
      } else {
        const spec = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((c) => c.name === s.container)!;
        const env = resolveEnv(pod.metadata.namespace, spec, x.lookups);
        if ('error' in env) throw new Error(env.error);
        if (!access.has(s.pod)) access.set(s.pod, await apiAccess(x, d!));
        const api = access.get(s.pod);
        opts = containerCreateOptions(id!, pod, spec, {
          dataDir: x.dataDir,
          role: s.role,
          attempt: s.attempt,
          hash: d!.hashes[spec.name]!,
          // the pod's own variables win over the in-cluster ones, as in Kubernetes
          env: api ? [...api.env.filter((e) => !env.env.some((o) => o.split('=')[0] === e.split('=')[0])), ...env.env] : env.env,
          ...(api ? { extraBinds: [api.bind] } : {}),
          ...(sandboxName.get(s.pod) ? { sandboxName: sandboxName.get(s.pod)! } : {}),
        });
      }
      let cid: string;
      try {
        cid = await x.engine.create(opts);
      } catch (e) {
        // Same deterministic name already there: created by an earlier (interrupted) run. Adopt it next loop.
        if ((e as { statusCode?: number }).statusCode === 409) return;
        throw e;
      }
      x.log.info('container created', { pod: `${d!.namespace}/${d!.name}`, container: s.container, role: s.role, attempt: s.attempt });
      await x.engine.start(cid);
      return;
    }
    case 'start':
      await x.engine.start(s.id);
      return;
    case 'stop':
      x.log.info('stopping container', { name: s.name, reason: s.reason });
      await x.engine.stop(s.id, s.graceSeconds);
      return;
    case 'remove':
      x.log.info('removing container', { name: s.name, reason: s.reason });
      if (s.graceSeconds > 0) await x.engine.stop(s.id, s.graceSeconds);
      await x.engine.remove(s.id);
      return;
    case 'removeDir':
      removePodDir(x.dataDir, s.uid);
      return;
  }
}

/** Run steps; returns the failures (each stops the rest of its pod's steps). */
export async function execute(steps: readonly Step[], x: ExecContext): Promise<{ done: number; errors: StepError[] }> {
  const byPod = new Map<string, Step[]>();
  for (const s of steps) {
    const list = byPod.get(s.pod) ?? [];
    list.push(s);
    byPod.set(s.pod, list);
  }
  // The sandbox each pod's containers join: the newest observed one, unless the plan makes a new one.
  const sandboxName = new Map<string, string>();
  for (const c of x.observed) {
    if (c.role !== 'sandbox') continue;
    const cur = sandboxName.get(c.podUid);
    if (!cur || Number(cur.split('_').pop()) < c.attempt) sandboxName.set(c.podUid, c.dockerName);
  }
  let done = 0;
  const errors: StepError[] = [];
  const access = new Map<string, PodApiAccess | undefined>();
  const runPod = async (list: Step[]): Promise<void> => {
    // Removals first in parallel (members before their sandbox), then the rest in order.
    const removes = list.filter((s) => s.op === 'remove' || s.op === 'stop');
    const others = list.filter((s) => s.op !== 'remove' && s.op !== 'stop');
    const members = removes.filter((s) => !s.name.includes('_sandbox_'));
    const boxes = removes.filter((s) => s.name.includes('_sandbox_'));
    for (const group of [members, boxes]) {
      const results = await Promise.allSettled(group.map((s) => runStep(s, x, sandboxName, access)));
      results.forEach((r, i) => (r.status === 'fulfilled' ? done++ : errors.push({ step: group[i]!, error: errorMessage(r.reason) })));
    }
    if (errors.some((e) => e.step.pod === list[0]?.pod)) return;
    for (const s of others) {
      try {
        await runStep(s, x, sandboxName, access);
        done++;
      } catch (e) {
        errors.push({ step: s, error: errorMessage(e) });
        return;
      }
    }
  };
  const queue = [...byPod.values()];
  const workers = Array.from({ length: Math.max(1, x.concurrency ?? 4) }, async () => {
    for (let list = queue.shift(); list; list = queue.shift()) await runPod(list);
  });
  await Promise.all(workers);
  return { done, errors };
}
