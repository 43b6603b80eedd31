/** The data edged's planner works on: desired pods, observed engine state, runtime facts, steps. */
import type { FieldIssue } from '../../core/errors.js';
import type { Pod } from '../../contract/resources/pod.js';
import type { RegistryAuth } from '../../contract/resources/secret.js';
import type { DnsSettings } from './desired.js';
import type { EnvSource } from './env.js';
import type { Role } from './labels.js';

/** A desired pod as read from the store: validated (`pod`) or refused (`issues`). */
export interface DesiredPod {
  namespace: string;
  name: string;
  uid: string;
  pod?: Pod;
  issues?: FieldIssue[];
  /** per container: what a create needs that may be missing (CreateContainerConfigError) */
  configErrors: Record<string, string>;
  /** per container without a config error: its environment sources (values read; the pod IP filled in at create) */
  env: Record<string, EnvSource[]>;
  /**
   * How the pod is networked: `shared` a sandbox holds the namespace every container joins;
   * `own` its single container has its own (no sandbox needed); `host` the host's.
   */
  network: 'shared' | 'own' | 'host';
  /** DNS of the pod's network holder (dnsPolicy None / dnsConfig); absent: the host's resolv.conf */
  dns?: DnsSettings;
  /** the pod is being deleted (metadata.deletionTimestamp): stop everything with this grace */
  deleting?: { graceSeconds: number };
  /** the pod cannot run on this node (nodeSelector / required node affinity): why */
  unfit?: { reason: string; message: string };
  /** per image of the pod: registry credentials from its imagePullSecrets (absent: anonymous) */
  pullAuth: Record<string, RegistryAuth>;
  /** image of the sandbox (config or the first container's image) */
  sandboxImage: string;
  sandboxHash: string;
  /** container name → hash of everything its create depends on */
  hashes: Record<string, string>;
}

export type EngineState = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

/** One container carrying our labels, as inspected this loop. */
export interface ObservedContainer {
  id: string;
  dockerName: string;
  podUid: string;
  namespace: string;
  podName: string;
  role: Role;
  container: string;
  attempt: number;
  /** Kubernetes' restartCount of this container instance (label) */
  restarts: number;
  hash: string;
  graceSeconds: number;
  image: string;
  imageId: string;
  state: EngineState;
  exitCode: number;
  oomKilled: boolean;
  error: string;
  startedAt?: string;
  finishedAt?: string;
  ip?: string;
  /** the main process, in the engine's PID namespace (while running) */
  pid?: number;
}

export interface Observed {
  containers: ObservedContainer[];
  /** images present locally (as referenced by desired pods) */
  images: Set<string>;
  /** pod uids that have a folder under the pods data dir */
  podDirs: string[];
}

export interface PullFailure {
  attempts: number;
  /** ms since epoch */
  lastAt: number;
  message: string;
}

export interface ProbeFacts {
  /** readiness probe passing (undefined: no result yet) */
  ready?: boolean;
  /** liveness (or startup) probe failed past its threshold: the container must be restarted */
  unhealthy?: boolean;
  /** which probe found it unhealthy */
  unhealthyBy?: 'liveness' | 'startup';
  /** startup probe passed (or none) */
  started: boolean;
}

/** What edged knows at run time besides the engine (probe results, pull failures). */
export interface Facts {
  now: number;
  probes: Map<string, ProbeFacts>;
  pulls: Map<string, PullFailure>;
  /** per pod uid, per container: the restart count last seen (outlives removed containers) */
  restarts?: Map<string, Map<string, number>>;
  /** the node's IP (status.hostIP) */
  hostIP?: string;
  /** the last time the engine went away and came back: containers that ended then restart at once */
  outage?: { from: number; to: number };
  crashLoop: { initialMs: number; maxMs: number; resetMs: number };
  pullBackoff: { initialMs: number; maxMs: number };
}

/**
 * One action on the engine or the host, carrying everything it needs: the executor only executes
 * (it resolves nothing, reads no store, parses no names).
 */
export type Step =
  /** `for`: the container it is pulled for (the part of the pod its events name) */
  | { op: 'pull'; pod: string; image: string; auth?: RegistryAuth; for?: { role: 'init' | 'app'; container: string } }
  | { op: 'volumes'; pod: string }
  /** the pod's network holder, attempt n */
  | { op: 'create'; pod: string; role: 'sandbox'; container: 'sandbox'; attempt: number }
  /**
   * a container with its resolved env and expanded command/args; `sandbox`: the holder whose
   * network it joins (absent when the pod has none); `restarts`: its restart count; `present`:
   * its image, found on the node (no pull: the kubelet's "already present" Pulled event)
   */
  | {
      op: 'create';
      pod: string;
      role: 'init' | 'app';
      container: string;
      attempt: number;
      restarts: number;
      env: string[];
      command?: string[];
      args?: string[];
      sandbox?: string;
      present?: string;
    }
  /** `name`: the engine's name of the container; `container`: the pod's name of it */
  | { op: 'start'; pod: string; id: string; name: string; role: Role; container: string }
  | { op: 'stop'; pod: string; id: string; name: string; role: Role; container: string; graceSeconds: number; reason: string }
  | { op: 'remove'; pod: string; id: string; name: string; role: Role; container: string; graceSeconds: number; reason: string }
  | { op: 'removeDir'; pod: string; uid: string };

export interface Waiting {
  reason: string;
  message?: string;
}

export interface Plan {
  steps: Step[];
  /** per pod uid, per container: why it is waiting (ImagePullBackOff, CrashLoopBackOff...) */
  waiting: Map<string, Map<string, Waiting>>;
  /** pods that finished (Succeeded/Failed by restart policy) or whose init failed for good */
  terminal: Map<string, 'Succeeded' | 'Failed'>;
  /** ms since epoch when the planner wants to look again (a backoff expires); undefined = no need */
  wakeAt?: number;
}
