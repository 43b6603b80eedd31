/**
 * Runs a plan's steps against the engine. Each step carries what it needs (resolved env, pull
 * credentials, the sandbox to join, the role of what it stops): nothing is resolved, looked up or
 * parsed here. Steps of one pod run in order and stop at that pod's first failure (the next pass
 * re-plans from what the engine then shows). Pods never wait on each other: `PodWorkers` runs each
 * pod's steps on its own, so one pod's stop (its whole grace period), pull or backoff does not
 * hold another pod's create. As the kubelet, it tells what it did (Pulled, Created, Started,
 * Killing, Failed) to the injected `events` sink; the events are made in events.ts.
 */
import { backoffDelay, type BackoffPolicy } from '../../core/backoff.js';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { Lookups, SandboxSettings } from './desired.js';
import { containerCreateOptions, sandboxCreateOptions, type NetworkInputs } from './dockerspec.js';
import type { ContainerEngine } from './engine.js';
import { containerPath, kubeletEvents, type PodEvent, type PodEventSink } from './events.js';
import type { Role } from './labels.js';
import type { DesiredPod, PullFailure, Step } from './model.js';
import type { NodeInfo } from './downward.js';
import { serviceAccountOf, wantsToken, writeServiceAccount, type IssueToken, type PodApiAccess } from './serviceaccount.js';
import { prepareVolumes, removePodDir } from './volumes.js';

export interface ExecContext {
  engine: ContainerEngine;
  dataDir: string;
  /** volume contents (ConfigMap/Secret files) for the `volumes` step */
  lookups: Lookups;
  node: NodeInfo;
  sandbox: SandboxSettings;
  pulls: Map<string, PullFailure>;
  now: () => number;
  log: Logger;
  /** false while the engine is going away: no new step is sent to it */
  open?: () => boolean;
  /** pulls in flight by image: several pods needing one image share its pull */
  pulling: Map<string, Promise<void>>;
  /** a pod's service-account token for the MetaServer (absent: none mounted) */
  issueToken?: IssueToken;
  /** the kubelet's events about pods (absent: none told) */
  events?: PodEventSink;
}

/** Tell an event about the pod `d` (a pod no longer desired has no object to tell it about). */
function tell(x: ExecContext, d: DesiredPod | undefined, e: PodEvent | undefined): void {
  if (d && e) x.events?.({ namespace: d.namespace, name: d.name, uid: d.uid }, e);
}

/** Tell `failed` when `p` rejects (and pass the rejection on). */
async function failing<T>(p: Promise<T>, x: ExecContext, d: DesiredPod | undefined, failed: (error: string) => PodEvent | undefined): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (!(e instanceof EngineAwayError)) tell(x, d, failed(errorMessage(e)));
    throw e;
  }
}

/** What one run of a pod's steps found out on the way (its in-cluster access, asked for once). */
interface PodRun {
  access?: Promise<PodApiAccess | undefined>;
}

/** The token files of a pod that wants them, written fresh once per run; undefined when it does not or none is issued. */
function apiAccess(x: ExecContext, d: DesiredPod, run: PodRun): Promise<PodApiAccess | undefined> {
  run.access ??= (async () => {
    const pod = d.pod!;
    if (!x.issueToken || !wantsToken(pod)) return undefined;
    const m = await x.issueToken({ namespace: d.namespace, name: d.name, uid: d.uid }, serviceAccountOf(pod));
    return m ? writeServiceAccount(x.dataDir, d.uid, pod, m) : undefined;
  })();
  return run.access;
}

/** A container's variables: the in-cluster ones, then its own (which win, as in Kubernetes). */
function withApiEnv(env: string[], api: PodApiAccess | undefined): string[] {
  if (!api) return env;
  const own = new Set(env.map((e) => e.slice(0, e.indexOf('='))));
  return [...api.env.filter((e) => !own.has(e.slice(0, e.indexOf('=')))), ...env];
}

export interface StepError {
  step: Step;
  error: string;
  /** held because the engine is going away (not the pod's fault: no backoff) */
  away?: boolean;
}

/** The engine is going away (shutting down, or its events stream ended): not the pod's fault. */
export class EngineAwayError extends Error {
  constructor() {
    super('the container engine is going away; steps held until it answers again');
    this.name = 'EngineAwayError';
  }
}

const failure = (step: Step, e: unknown): StepError => ({ step, error: errorMessage(e), ...(e instanceof EngineAwayError ? { away: true } : {}) });

const podName = (d: DesiredPod | undefined, uid: string): string => (d ? `${d.namespace}/${d.name}` : `uid ${uid}`);

/** Pull an image (Pulling, then Pulled or Failed, told for each pod that needs it). */
async function pull(s: Extract<Step, { op: 'pull' }>, x: ExecContext, d: DesiredPod | undefined): Promise<void> {
  const at = s.for ? containerPath(s.for.role, s.for.container) : undefined;
  tell(x, d, kubeletEvents.pulling(s.image, at));
  const started = x.now();
  await failing(sharedPull(s, x, d), x, d, (error) => kubeletEvents.pullFailed(s.image, error, at));
  tell(x, d, kubeletEvents.pulled(s.image, x.now() - started, at));
}

/** Several pods pulling one image at once share one pull. */
function sharedPull(s: Extract<Step, { op: 'pull' }>, x: ExecContext, d: DesiredPod | undefined): Promise<void> {
  const inflight = x.pulling;
  const running = inflight.get(s.image);
  if (running) return running;
  const started = x.now();
  let last = 0;
  const p = x.engine
    .pull(s.image, s.auth, (line) => {
      if (x.now() - last < 2000) return;
      last = x.now();
      x.log.info('pulling image', { image: s.image, pod: podName(d, s.pod), progress: line });
    })
    .then(
      () => {
        x.pulls.delete(s.image);
        x.log.info('image pulled', { image: s.image, pod: podName(d, s.pod), ms: x.now() - started });
      },
      (e: unknown) => {
        const prev = x.pulls.get(s.image);
        x.pulls.set(s.image, { attempts: (prev?.attempts ?? 0) + 1, lastAt: x.now(), message: `pull ${s.image}: ${errorMessage(e)}` });
        throw e;
      },
    )
    .finally(() => inflight.delete(s.image));
  inflight.set(s.image, p);
  return p;
}

function networkInputs(d: DesiredPod, s: Extract<Step, { op: 'create' }>, x: ExecContext): NetworkInputs {
  if (d.network === 'host') return { mode: 'host', ...(d.dns ? { dns: d.dns } : {}) };
  if (d.network === 'own') return { mode: 'own', network: x.sandbox.network, ...(d.dns ? { dns: d.dns } : {}) };
  if (s.role !== 'sandbox' && s.sandbox) return { mode: 'join', sandbox: s.sandbox };
  throw new Error(`container ${s.container} of pod ${d.namespace}/${d.name}: no sandbox to join`);
}

/** Create a container (not started); undefined when its deterministic name exists already (adopted next pass). */
async function createOnly(s: Extract<Step, { op: 'create' }>, x: ExecContext, d: DesiredPod, run: PodRun): Promise<string | undefined> {
  const spec = d.pod!;
  const id = { namespace: d.namespace, name: d.name, uid: d.uid, node: x.engine.node };
  let opts;
  if (s.role === 'sandbox') {
    opts = sandboxCreateOptions(id, spec, { image: d.sandboxImage, command: x.sandbox.command, network: x.sandbox.network, hash: d.sandboxHash, attempt: s.attempt, ...(d.dns ? { dns: d.dns } : {}) });
  } else {
    const c = [...(spec.spec.initContainers ?? []), ...spec.spec.containers].find((v) => v.name === s.container)!;
    const api = await apiAccess(x, d, run);
    if (s.present) tell(x, d, kubeletEvents.present(s.present, containerPath(s.role, s.container)));
    opts = containerCreateOptions(id, spec, c, {
      dataDir: x.dataDir,
      role: s.role,
      attempt: s.attempt,
      restarts: s.restarts,
      hash: d.hashes[c.name]!,
      env: withApiEnv(s.env, api),
      ...(api ? { extraBinds: [api.bind] } : {}),
      ...(s.command ? { command: s.command } : {}),
      ...(s.args ? { args: s.args } : {}),
      net: networkInputs(d, s, x),
    });
  }
  const container = s.role === 'sandbox' ? undefined : s.container;
  const cid = await failing(x.engine.create(opts), x, d, (error) => (container ? kubeletEvents.failed(s.role, container, error) : undefined));
  if (cid !== undefined) {
    x.log.info('container created', { pod: `${d.namespace}/${d.name}`, container: s.container, role: s.role, attempt: s.attempt });
    if (container) tell(x, d, kubeletEvents.created(s.role, container));
  }
  return cid;
}

/** Start a container (Started, or Failed). */
async function start(id: string, role: Role, container: string, x: ExecContext, d: DesiredPod | undefined): Promise<void> {
  if (role === 'sandbox') return x.engine.start(id);
  await failing(x.engine.start(id), x, d, (error) => kubeletEvents.failed(role, container, error));
  tell(x, d, kubeletEvents.started(role, container));
}

/**
 * A new sandbox and the containers that join it: the sandbox is created, then started while its
 * containers are created (a create only needs the sandbox to exist); they start once it runs.
 */
async function createWithSandbox(box: Extract<Step, { op: 'create' }>, members: Extract<Step, { op: 'create' }>[], x: ExecContext, d: DesiredPod, run: PodRun): Promise<void> {
  if (x.open && !x.open()) throw new EngineAwayError();
  const boxId = await createOnly(box, x, d, run);
  const [started, ...created] = await Promise.allSettled([boxId !== undefined ? x.engine.start(boxId) : Promise.resolve(), ...members.map((m) => createOnly(m, x, d, run))]);
  if (started!.status === 'rejected') throw started!.reason;
  for (const [i, r] of created.entries()) {
    if (r.status === 'rejected') throw new StepFailure(members[i]!, r.reason);
    if (r.value === undefined) continue;
    if (x.open && !x.open()) throw new EngineAwayError();
    const m = members[i]!;
    await start(r.value, m.role, m.container, x, d).catch((e: unknown) => Promise.reject(new StepFailure(m, e)));
  }
}

/** A failure of one step inside a batch (names that step). */
class StepFailure extends Error {
  constructor(
    readonly step: Step,
    readonly reason: unknown,
  ) {
    super(errorMessage(reason));
  }
}

async function runStep(s: Step, x: ExecContext, d: DesiredPod | undefined, run: PodRun): Promise<void> {
  if (x.open && !x.open()) throw new EngineAwayError();
  const pod = podName(d, s.pod);
  switch (s.op) {
    case 'pull':
      return pull(s, x, d);
    case 'volumes':
      prepareVolumes(x.dataDir, s.pod, d!.pod!, x.lookups, x.node);
      await apiAccess(x, d!, run);
      return;
    case 'create': {
      const cid = await createOnly(s, x, d!, run);
      if (cid === undefined) return;
      if (x.open && !x.open()) throw new EngineAwayError(); // created, not started: adopted and started later
      await start(cid, s.role, s.container, x, d);
      return;
    }
    case 'start':
      await start(s.id, s.role, s.container, x, d);
      return;
    case 'stop':
      x.log.info('stopping container', { pod, name: s.name, reason: s.reason, graceSeconds: s.graceSeconds });
      if (s.role !== 'sandbox') tell(x, d, kubeletEvents.killing(s.role, s.container, s.reason));
      await x.engine.stop(s.id, s.graceSeconds);
      return;
    case 'remove':
      x.log.info('removing container', { pod, name: s.name, reason: s.reason });
      if (s.graceSeconds > 0 && s.role !== 'sandbox') tell(x, d, kubeletEvents.killing(s.role, s.container, s.reason));
      if (s.graceSeconds > 0) await x.engine.stop(s.id, s.graceSeconds);
      await x.engine.remove(s.id);
      return;
    case 'removeDir':
      removePodDir(x.dataDir, s.uid);
      return;
  }
}

/** One pod's steps: removals first in parallel (members before their sandbox), then the rest in order. */
export async function runPod(list: readonly Step[], x: ExecContext, d: DesiredPod | undefined): Promise<{ done: number; errors: StepError[] }> {
  let done = 0;
  const errors: StepError[] = [];
  const run: PodRun = {};
  const removes = list.filter((s): s is Extract<Step, { op: 'remove' | 'stop' }> => s.op === 'remove' || s.op === 'stop');
  const others = list.filter((s) => s.op !== 'remove' && s.op !== 'stop');
  for (const group of [removes.filter((s) => s.role !== 'sandbox'), removes.filter((s) => s.role === 'sandbox')]) {
    const results = await Promise.allSettled(group.map((s) => runStep(s, x, d, run)));
    results.forEach((r, i) => (r.status === 'fulfilled' ? done++ : errors.push(failure(group[i]!, r.reason))));
  }
  if (errors.length) return { done, errors };
  for (let i = 0; i < others.length; i++) {
    const s = others[i]!;
    try {
      if (s.op === 'create' && s.role === 'sandbox' && d?.pod) {
        // the containers created right after it join it: created while it starts
        const members: Extract<Step, { op: 'create' }>[] = [];
        for (let j = i + 1; j < others.length; j++) {
          const m = others[j]!;
          if (m.op !== 'create' || m.role === 'sandbox') break;
          members.push(m);
        }
        await createWithSandbox(s, members, x, d, run);
        done += 1 + members.length;
        i += members.length;
        continue;
      }
      await runStep(s, x, d, run);
      done++;
    } catch (e) {
      errors.push(e instanceof StepFailure ? failure(e.step, e.reason) : failure(s, e));
      break;
    }
  }
  return { done, errors };
}

const byPod = (steps: readonly Step[]): Map<string, Step[]> => {
  const out = new Map<string, Step[]>();
  for (const s of steps) {
    const list = out.get(s.pod) ?? [];
    list.push(s);
    out.set(s.pod, list);
  }
  return out;
};

/** Run all steps (every pod at once) and wait for them; returns the failures. */
export async function execute(steps: readonly Step[], x: ExecContext, desired: ReadonlyMap<string, DesiredPod>): Promise<{ done: number; errors: StepError[] }> {
  const results = await Promise.all([...byPod(steps)].map(([pod, list]) => runPod(list, x, desired.get(pod))));
  return { done: results.reduce((n, r) => n + r.done, 0), errors: results.flatMap((r) => r.errors) };
}

export interface WorkerEvents {
  /** a pod's work ended (errors: its failed step, if any) */
  settled(pod: string, errors: StepError[]): void;
}

/**
 * Each pod's steps run on their own: `dispatch` returns at once; a pod with work in flight gets no
 * more until it settles; a pod whose work failed waits out its own backoff (`notBefore`).
 */
export class PodWorkers {
  private readonly busy = new Map<string, Promise<void>>();
  private readonly failures = new Map<string, { count: number; until: number; error: string }>();

  constructor(
    private readonly x: ExecContext,
    private readonly retry: BackoffPolicy,
    private readonly events: WorkerEvents,
  ) {}

  isBusy(pod: string): boolean {
    return this.busy.has(pod);
  }

  /** When this pod may be given work again after a failure (undefined: now). */
  notBefore(pod: string): number | undefined {
    const f = this.failures.get(pod);
    return f && f.until > this.x.now() ? f.until : undefined;
  }

  /** The last failure of a pod's work, while it backs off. */
  lastError(pod: string): string | undefined {
    return this.failures.get(pod)?.error;
  }

  /** Forget a pod's failures (it was deleted or changed). */
  forget(pod: string): void {
    this.failures.delete(pod);
  }

  get inFlight(): number {
    return this.busy.size;
  }

  dispatch(pod: string, steps: readonly Step[], d: DesiredPod | undefined): void {
    if (this.busy.has(pod) || steps.length === 0) return;
    const work = runPod(steps, this.x, d)
      .then((r) => {
        const errors = r.errors.filter((e) => !e.away);
        if (errors.length) {
          const count = (this.failures.get(pod)?.count ?? 0) + 1;
          this.failures.set(pod, { count, until: this.x.now() + backoffDelay(this.retry, count - 1), error: errors[0]!.error });
        } else if (!r.errors.length) this.failures.delete(pod);
        return errors;
      })
      .catch((e: unknown) => [{ step: steps[0]!, error: errorMessage(e) }])
      .then((errors) => {
        this.busy.delete(pod);
        this.events.settled(pod, errors);
      });
    this.busy.set(pod, work);
  }

  /** Resolves when every pod's work in flight has settled. */
  async idle(): Promise<void> {
    while (this.busy.size) await Promise.all(this.busy.values());
  }
}
