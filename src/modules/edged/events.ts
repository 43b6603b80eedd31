/**
 * What edged tells about a pod as it happens — Kubernetes' kubelet events (Pulling, Pulled,
 * Created, Started, Killing, BackOff, Unhealthy, Failed) with their reasons and wording. They go
 * up through metamanager's `event.report` (the uplink's typed event report); the relay turns them
 * into core/v1 Events that `kubectl describe pod` lists.
 */
import type { ObjectEvent } from '../../contract/payloads.js';

export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
}

/** Where events go (module.ts: metamanager `event.report`); never throws. */
export type PodEvents = (pod: PodRef, e: ObjectEvent) => void;

/** `spec.containers{web}`: the part of the pod an event is about, as a kubelet names it. */
export const containerPath = (role: string, container: string): string => (role === 'init' ? `spec.initContainers{${container}}` : `spec.containers{${container}}`);

/** The event a container's waiting reason deserves (BackOff, Failed), if any. */
export function waitingEvent(reason: string, message: string | undefined, container: string): Omit<ObjectEvent, 'fieldPath'> | undefined {
  if (reason === 'CrashLoopBackOff') return { type: 'Warning', reason: 'BackOff', message: `Back-off restarting failed container ${container}` };
  if (reason === 'ImagePullBackOff') return { type: 'Normal', reason: 'BackOff', message: message ?? 'Back-off pulling image' };
  if (reason === 'CreateContainerConfigError' || reason === 'ErrImageNeverPull') return { type: 'Warning', reason: 'Failed', message: `Error: ${message ?? reason}` };
  return undefined;
}
