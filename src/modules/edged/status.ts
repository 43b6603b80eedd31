/**
 * Pod status (Kubernetes v1 PodStatus subset), computed purely from the desired pod, the engine
 * state observed after a loop, the planner's waiting reasons and the probe results.
 */
import type { Container } from '../../contract/resources/pod.js';
import type { DesiredPod, ObservedContainer, Plan, ProbeFacts, Waiting } from './model.js';

export type ContainerState =
  | { waiting: { reason: string; message?: string } }
  | { running: { startedAt?: string } }
  | { terminated: { exitCode: number; reason: string; message?: string; startedAt?: string; finishedAt?: string } };

export interface ContainerStatus {
  name: string;
  image: string;
  imageID: string;
  containerID: string;
  ready: boolean;
  started: boolean;
  restartCount: number;
  state: ContainerState;
  lastState: ContainerState | Record<string, never>;
}

export interface PodCondition {
  type: 'Initialized' | 'ContainersReady' | 'Ready' | 'PodScheduled';
  status: 'True' | 'False';
  reason?: string;
}

export interface PodStatus {
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  reason?: string;
  message?: string;
  conditions: PodCondition[];
  podIP?: string;
  hostIP?: string;
  startTime?: string;
  initContainerStatuses?: ContainerStatus[];
  containerStatuses: ContainerStatus[];
}

const ENDED = new Set(['exited', 'dead']);

function terminated(c: ObservedContainer): ContainerState {
  const reason = c.oomKilled ? 'OOMKilled' : c.exitCode === 0 ? 'Completed' : 'Error';
  return {
    terminated: {
      exitCode: c.exitCode,
      reason,
      ...(c.error ? { message: c.error } : {}),
      ...(c.startedAt ? { startedAt: c.startedAt } : {}),
      ...(c.finishedAt ? { finishedAt: c.finishedAt } : {}),
    },
  };
}

function containerStatus(spec: Container, role: 'init' | 'app', mine: ObservedContainer[], waiting: Waiting | undefined, probes: Map<string, ProbeFacts>, more: StatusExtras): ContainerStatus {
  const list = mine.filter((c) => c.role === role && c.container === spec.name).sort((a, b) => b.attempt - a.attempt);
  const [cur, prev] = list;
  let state: ContainerState;
  if (waiting) state = { waiting: { reason: waiting.reason, ...(waiting.message ? { message: waiting.message } : {}) } };
  else if ((!cur || cur.state === 'created') && more.workError) state = { waiting: { reason: 'CreateContainerError', message: more.workError } };
  else if (!cur || cur.state === 'created') state = { waiting: { reason: 'ContainerCreating' } };
  else if (ENDED.has(cur.state)) state = terminated(cur);
  else state = { running: cur.startedAt ? { startedAt: cur.startedAt } : {} };
  // While waiting to restart, the last run is lastState (as in Kubernetes).
  const last = waiting && cur && ENDED.has(cur.state) ? cur : prev && ENDED.has(prev.state) ? prev : undefined;
  const p = cur ? probes.get(cur.id) : undefined;
  const running = 'running' in state;
  const started = running && (p?.started ?? true);
  const ready = role === 'init' ? !!cur && ENDED.has(cur.state) && cur.exitCode === 0 : running && started && (spec.readinessProbe ? p?.ready === true : true);
  return {
    name: spec.name,
    image: spec.image,
    imageID: cur?.imageId ?? '',
    containerID: cur ? `docker://${cur.id}` : '',
    ready,
    started,
    restartCount: cur ? cur.restarts : (more.restarts?.get(spec.name) ?? 0),
    state,
    lastState: last ? terminated(last) : {},
  };
}

/** What status needs besides the engine's view. */
export interface StatusExtras {
  /** restart counts last seen per container (when its container is gone) */
  restarts?: Map<string, number> | undefined;
  /** the pod's work failed and backs off: why */
  workError?: string | undefined;
}

export function podStatus(d: DesiredPod, mine: ObservedContainer[], plan: Plan, probes: Map<string, ProbeFacts>, hostIP: string | undefined, more: StatusExtras = {}): PodStatus {
  if (!d.pod) {
    return {
      phase: 'Failed',
      reason: 'InvalidSpec',
      message: (d.issues ?? []).map((i) => `${i.path || '(root)'}: ${i.reason}`).join('; '),
      conditions: [{ type: 'Ready', status: 'False', reason: 'InvalidSpec' }],
      containerStatuses: [],
    };
  }
  const spec = d.pod.spec;
  if (d.unfit && mine.length === 0) {
    return {
      phase: 'Failed',
      reason: d.unfit.reason,
      message: d.unfit.message,
      conditions: [{ type: 'PodScheduled', status: 'True' }],
      ...(hostIP ? { hostIP } : {}),
      containerStatuses: [],
    };
  }
  const waiting = plan.waiting.get(d.uid) ?? new Map<string, Waiting>();
  const inits = (spec.initContainers ?? []).map((c) => containerStatus(c, 'init', mine, waiting.get(c.name), probes, more));
  const apps = spec.containers.map((c) => containerStatus(c, 'app', mine, waiting.get(c.name), probes, more));
  const appsExist = mine.some((c) => c.role === 'app');
  const initialized = appsExist || inits.every((s) => s.ready);
  const containersReady = apps.every((s) => s.ready);
  const terminal = plan.terminal.get(d.uid);
  let phase: PodStatus['phase'];
  if (terminal) phase = terminal;
  else if (apps.some((s) => 'running' in s.state) || (appsExist && apps.every((s) => !('waiting' in s.state) || s.restartCount > 0))) phase = 'Running';
  else phase = 'Pending';
  const holder = mine.filter((c) => c.role === (d.network === 'own' ? 'app' : 'sandbox')).sort((a, b) => b.attempt - a.attempt)[0];
  const podIP = d.network === 'host' ? hostIP : holder?.ip;
  const startTimes = mine.map((c) => c.startedAt).filter((s): s is string => !!s).sort();
  const configError = [...waiting.values()].find((w) => w.reason === 'CreateContainerConfigError');
  return {
    phase,
    ...(configError && phase === 'Pending' ? { reason: 'CreateContainerConfigError', message: configError.message } : {}),
    conditions: [
      { type: 'PodScheduled', status: 'True' },
      { type: 'Initialized', status: initialized ? 'True' : 'False', ...(initialized ? {} : { reason: 'ContainersNotInitialized' }) },
      { type: 'ContainersReady', status: containersReady ? 'True' : 'False', ...(containersReady ? {} : { reason: 'ContainersNotReady' }) },
      { type: 'Ready', status: containersReady && initialized ? 'True' : 'False', ...(containersReady ? {} : { reason: 'ContainersNotReady' }) },
    ],
    ...(podIP ? { podIP } : {}),
    ...(hostIP ? { hostIP } : {}),
    ...(startTimes[0] ? { startTime: startTimes[0] } : {}),
    ...(inits.length ? { initContainerStatuses: inits } : {}),
    containerStatuses: apps,
  };
}

export const ENGINE_DOWN = 'ContainerRuntimeDown';

/**
 * A pod's last status while the engine does not answer: what was known stays, nothing claims to
 * be created, and the pod and its Ready condition say why.
 */
export function engineDownStatus(prev: PodStatus | undefined, d: DesiredPod, message: string): PodStatus {
  if (!prev) {
    // Never seen running: every container waits for the engine.
    const waiting = (c: Container): ContainerStatus => ({ name: c.name, image: c.image, imageID: '', containerID: '', ready: false, started: false, restartCount: 0, state: { waiting: { reason: ENGINE_DOWN, message } }, lastState: {} });
    const inits = d.pod?.spec.initContainers ?? [];
    prev = {
      phase: 'Pending',
      conditions: [{ type: 'PodScheduled', status: 'True' }, { type: 'Initialized', status: inits.length ? 'False' : 'True' }, { type: 'ContainersReady', status: 'False' }, { type: 'Ready', status: 'False' }],
      ...(inits.length ? { initContainerStatuses: inits.map(waiting) } : {}),
      containerStatuses: (d.pod?.spec.containers ?? []).map(waiting),
    };
  }
  const patch = (cs: ContainerStatus): ContainerStatus =>
    'waiting' in cs.state && cs.state.waiting.reason === 'ContainerCreating' ? { ...cs, state: { waiting: { reason: ENGINE_DOWN, message } } } : { ...cs, ready: false };
  return {
    ...prev,
    reason: ENGINE_DOWN,
    message,
    conditions: prev.conditions.map((c) => (c.type === 'Ready' || c.type === 'ContainersReady' ? { type: c.type, status: 'False' as const, reason: ENGINE_DOWN } : c)),
    ...(prev.initContainerStatuses ? { initContainerStatuses: prev.initContainerStatuses.map(patch) } : {}),
    containerStatuses: prev.containerStatuses.map(patch),
  };
}
