/**
 * What edged tells about a pod as it happens: the kubelet's events (Pulling, Pulled, Created,
 * Started, Killing, BackOff, Unhealthy, Failed) with Kubernetes' reasons, types and wording. They
 * are data made here (pure functions); the executor, the probe workers and the reconciler hand
 * them to an injected sink, which the module sends up as metamanager `event.report` (the uplink's
 * typed OBJECT_EVENT). The relay records them as core/v1 Events under the node's identity and
 * counts repeats on one Event (`count`, `lastTimestamp`), so `kubectl describe pod` lists them.
 *
 * Kubernetes also drops repeats of one event past a burst on the sending side (client-go's spam
 * filter: 25, then one per 5 minutes); `EventThrottle` does the same, so a crash loop or a
 * failing probe cannot flood the uplink.
 */
import type { ObjectEvent } from '../../contract/payloads.js';
import type { Role } from './labels.js';
import type { DesiredPod, Plan } from './model.js';

export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
}

/** The fields of an event edged decides (the sink adds the component and the pod's uid). */
export type PodEvent = Pick<ObjectEvent, 'type' | 'reason' | 'message' | 'fieldPath'>;

/** Where a pod's events go; never throws (an event is droppable). */
export type PodEventSink = (pod: PodRef, event: PodEvent) => void;

/** `spec.containers{web}`: the part of the pod an event is about, as the kubelet names it. */
export const containerPath = (role: Role, container: string): string | undefined =>
  role === 'sandbox' ? undefined : role === 'init' ? `spec.initContainers{${container}}` : `spec.containers{${container}}`;

/** The kubelet's short name of a pod in messages: `name_namespace(uid)`. */
export const podDescription = (p: PodRef): string => `${p.name}_${p.namespace}(${p.uid})`;

const ev = (type: 'Normal' | 'Warning', reason: string, message: string, fieldPath: string | undefined): PodEvent => ({
  type,
  reason,
  message: message.length > 4096 ? `${message.slice(0, 4093)}...` : message,
  ...(fieldPath ? { fieldPath } : {}),
});

const seconds = (ms: number): string => `${(ms / 1000).toFixed(3).replace(/\.?0+$/, '')}s`;

export const kubeletEvents = {
  pulling: (image: string, at?: string): PodEvent => ev('Normal', 'Pulling', `Pulling image "${image}"`, at),
  pulled: (image: string, ms: number, at?: string): PodEvent => ev('Normal', 'Pulled', `Successfully pulled image "${image}" in ${seconds(ms)}`, at),
  present: (image: string, at?: string): PodEvent => ev('Normal', 'Pulled', `Container image "${image}" already present on machine`, at),
  pullFailed: (image: string, error: string, at?: string): PodEvent => ev('Warning', 'Failed', `Failed to pull image "${image}": ${error}`, at),
  created: (role: Role, container: string): PodEvent => ev('Normal', 'Created', `Created container ${container}`, containerPath(role, container)),
  started: (role: Role, container: string): PodEvent => ev('Normal', 'Started', `Started container ${container}`, containerPath(role, container)),
  failed: (role: Role, container: string, error: string): PodEvent => ev('Warning', 'Failed', `Error: ${error}`, containerPath(role, container)),
  /** a running container stopped by edged; the planner's reason picks the kubelet's wording */
  killing: (role: Role, container: string, reason: string): PodEvent => {
    const why: Record<string, string> = {
      'liveness probe failed': `Container ${container} failed liveness probe, will be restarted`,
      'startup probe failed': `Container ${container} failed startup probe, will be restarted`,
      'spec changed': `Container ${container} definition changed, will be restarted`,
    };
    return ev('Normal', 'Killing', why[reason] ?? `Stopping container ${container}`, containerPath(role, container));
  },
  /** `kind`: liveness, readiness or startup; `output`: what the probe said */
  unhealthy: (kind: 'liveness' | 'readiness' | 'startup', container: string, output: string): PodEvent =>
    ev('Warning', 'Unhealthy', `${kind[0]!.toUpperCase()}${kind.slice(1)} probe failed: ${output}`, containerPath('app', container)),
};

/** The event a container starting to wait for `reason` deserves (BackOff, Failed), if any. */
export function waitingEvent(pod: DesiredPod, container: string, reason: string, message: string | undefined): PodEvent | undefined {
  const init = (pod.pod?.spec.initContainers ?? []).find((c) => c.name === container);
  const spec = init ?? pod.pod?.spec.containers.find((c) => c.name === container);
  const at = containerPath(init ? 'init' : 'app', container);
  switch (reason) {
    case 'CrashLoopBackOff':
      return ev('Warning', 'BackOff', `Back-off restarting failed container ${container} in pod ${podDescription(pod)}`, at);
    case 'ImagePullBackOff':
      return ev('Normal', 'BackOff', `Back-off pulling image "${spec?.image ?? ''}"`, at);
    case 'ErrImageNeverPull':
      return ev('Warning', 'ErrImageNeverPull', `Container image "${spec?.image ?? ''}" is not present with pull policy of Never`, at);
    case 'CreateContainerConfigError':
      return ev('Warning', 'Failed', `Error: ${message ?? reason}`, at);
    default:
      return undefined; // ErrImagePull: the failed pull told it already
  }
}

/**
 * Waiting reasons as events: one when a container starts waiting for a reason (not on every pass
 * while it waits). `seen` (pod uid/container → reason) is the caller's memory between passes,
 * updated in place; pods absent from `pods` are forgotten.
 */
export function waitingEvents(seen: Map<string, string>, waiting: Plan['waiting'], pods: ReadonlyMap<string, DesiredPod>): { pod: PodRef; event: PodEvent }[] {
  const out: { pod: PodRef; event: PodEvent }[] = [];
  const now = new Set<string>();
  for (const [uid, byContainer] of waiting) {
    const d = pods.get(uid);
    if (!d) continue;
    for (const [container, w] of byContainer) {
      const k = `${uid}/${container}`;
      now.add(k);
      if (seen.get(k) === w.reason) continue;
      seen.set(k, w.reason);
      const e = waitingEvent(d, container, w.reason, w.message);
      if (e) out.push({ pod: { namespace: d.namespace, name: d.name, uid: d.uid }, event: e });
    }
  }
  for (const k of [...seen.keys()]) if (!now.has(k)) seen.delete(k);
  return out;
}

/**
 * Repeats of one event (same pod, part, type, reason and message) pass up to `burst` times, then
 * one per `refillMs` (client-go's spam filter: 25, one per 5 minutes). Bounded memory.
 */
export class EventThrottle {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly now: () => number,
    private readonly burst = 25,
    private readonly refillMs = 300_000,
    private readonly maxKeys = 4096,
  ) {}

  allow(pod: PodRef, e: PodEvent): boolean {
    const key = [pod.uid, e.fieldPath ?? '', e.type, e.reason, e.message].join('\u0000');
    const now = this.now();
    const b = this.buckets.get(key);
    let tokens = this.burst;
    let at = now;
    if (b) {
      const gained = Math.floor((now - b.at) / this.refillMs);
      tokens = Math.min(this.burst, b.tokens + gained);
      if (tokens < this.burst) at = b.at + gained * this.refillMs;
    }
    this.buckets.delete(key);
    const pass = tokens >= 1;
    this.buckets.set(key, { tokens: pass ? tokens - 1 : tokens, at });
    if (this.buckets.size > this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string);
    return pass;
  }
}
