/**
 * Runs a plan's steps against the engine. Steps of one pod run in order and stop at that pod's
 * first failure (the next loop re-plans from what the engine then shows); pods run concurrently.
 * Each step carries what it needs (resolved env, pull credentials, the sandbox to join, the role
 * of what it stops): nothing is resolved, looked up or parsed here.
 */
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { Lookups, SandboxSettings } from './desired.js';
import { containerCreateOptions, sandboxCreateOptions } from './dockerspec.js';
import type { ContainerEngine } from './engine.js';
import type { DesiredPod, PullFailure, Step } from './model.js';
import { prepareVolumes, removePodDir } from './volumes.js';

export interface ExecContext {
  engine: ContainerEngine;
  dataDir: string;
  desired: Map<string, DesiredPod>;
  /** volume contents (ConfigMap/Secret files) for the `volumes` step */
  lookups: Lookups;
  sandbox: SandboxSettings;
  pulls: Map<string, PullFailure>;
  now: () => number;
  log: Logger;
  concurrency?: number;
}

export interface StepError {
  step: Step;
  error: string;
}

async function runStep(s: Step, x: ExecContext): Promise<void> {
  const d = x.desired.get(s.pod);
  switch (s.op) {
    case 'pull': {
      const started = x.now();
      let last = 0;
      try {
        await x.engine.pull(s.image, s.auth, (line) => {
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
      return;
    case 'create': {
      const pod = d!.pod!;
      const id = { namespace: d!.namespace, name: d!.name, uid: d!.uid, node: x.engine.node };
      let opts;
      if (s.role === 'sandbox') {
        opts = sandboxCreateOptions(id, pod, { image: d!.sandboxImage, command: x.sandbox.command, network: x.sandbox.network, hash: d!.sandboxHash, attempt: s.attempt });
      } else {
        const spec = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((c) => c.name === s.container)!;
        opts = containerCreateOptions(id, pod, spec, {
          dataDir: x.dataDir,
          role: s.role,
          attempt: s.attempt,
          hash: d!.hashes[spec.name]!,
          env: s.env,
          ...(s.sandbox ? { sandboxName: s.sandbox } : {}),
        });
      }
      // undefined: that deterministic name exists already (an earlier, interrupted run). Adopted next loop.
      const cid = await x.engine.create(opts);
      if (cid === undefined) return;
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
  let done = 0;
  const errors: StepError[] = [];
  const runPod = async (list: Step[]): Promise<void> => {
    // Removals first in parallel (members before their sandbox), then the rest in order.
    const removes = list.filter((s): s is Extract<Step, { op: 'remove' | 'stop' }> => s.op === 'remove' || s.op === 'stop');
    const others = list.filter((s) => s.op !== 'remove' && s.op !== 'stop');
    const members = removes.filter((s) => s.role !== 'sandbox');
    const boxes = removes.filter((s) => s.role === 'sandbox');
    let failed = false;
    for (const group of [members, boxes]) {
      const results = await Promise.allSettled(group.map((s) => runStep(s, x)));
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') done++;
        else {
          failed = true;
          errors.push({ step: group[i]!, error: errorMessage(r.reason) });
        }
      });
    }
    if (failed) return;
    for (const s of others) {
      try {
        await runStep(s, x);
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
