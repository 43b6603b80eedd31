/**
 * `kubectl get pods` as kubectl prints them: NAME READY STATUS RESTARTS AGE, and with -o wide IP
 * NODE NOMINATED NODE READINESS GATES. STATUS is derived the way kubectl's pod printer derives
 * it (written from its documented behaviour): the phase or status reason, overridden by the
 * first init container still at work (Init:N/M, Init:<reason>), else by the container reasons
 * read from the last container to the first, with "Completed" turned back into Running — or
 * NotReady when the pod's Ready condition is false — while a ready container still runs;
 * Terminating once deletionTimestamp is set on a pod that has not finished.
 */
import type { KubeObject, TableColumnDefinition } from '../../contract/kube/types.js';
import { AGE_COLUMN, ageOf, column, humanDuration, NAME_COLUMN } from '../../contract/kube/table.js';
import { arr, int, orNone, rec, str, type Obj } from './common.js';

export const POD_COLUMNS: TableColumnDefinition[] = [
  NAME_COLUMN,
  column('Ready', 'Ready containers out of all containers of the pod.'),
  column('Status', 'What the pod is doing, summarised from its phase, conditions and containers.'),
  column('Restarts', 'Container restarts, and how long ago the last one was.'),
  AGE_COLUMN,
  column('IP', 'The pod IP.', 1),
  column('Node', 'The node the pod is bound to.', 1),
  column('Nominated Node', 'The node the scheduler nominated, while it waits for room there.', 1),
  column('Readiness Gates', 'Readiness gates that are true out of all gates.', 1),
];

interface State {
  waiting?: { reason: string };
  running?: true;
  terminated?: { reason: string; exitCode: number; signal: number; finishedAt: string };
}

function stateOf(v: unknown): State {
  const s = rec(v);
  if (!s) return {};
  const w = rec(s.waiting);
  const t = rec(s.terminated);
  if (w) return { waiting: { reason: str(w.reason) } };
  if (t) return { terminated: { reason: str(t.reason), exitCode: int(t.exitCode), signal: int(t.signal), finishedAt: str(t.finishedAt) } };
  if (rec(s.running)) return { running: true };
  return {};
}

function conditionTrue(status: Obj, type: string): boolean {
  return arr(status.conditions).some((c) => str(rec(c)?.type) === type && str(rec(c)?.status) === 'True');
}

/** The latest lastState.terminated.finishedAt (ms) of some container statuses. */
function lastRestartOf(statuses: unknown[]): number | undefined {
  let last: number | undefined;
  for (const cs of statuses) {
    const t = stateOf(rec(cs)?.lastState).terminated;
    const at = t?.finishedAt ? Date.parse(t.finishedAt) : NaN;
    if (!Number.isNaN(at) && (last === undefined || at > last)) last = at;
  }
  return last;
}

export interface PodSummary {
  ready: string;
  status: string;
  restarts: string;
}

/** READY, STATUS and RESTARTS of one pod, as kubectl shows them. */
export function podSummary(pod: KubeObject, now: Date): PodSummary {
  const spec = rec(pod.spec) ?? {};
  const status = rec(pod.status) ?? {};
  const phase = str(status.phase);
  let reason = str(status.reason) || phase;
  if (arr(status.conditions).some((c) => str(rec(c)?.type) === 'PodScheduled' && str(rec(c)?.reason) === 'SchedulingGated')) reason = 'SchedulingGated';

  const inits = arr(status.initContainerStatuses);
  const initSpecs = arr(spec.initContainers).length;
  let restarts = 0;
  let initializing = false;
  for (let i = 0; i < inits.length; i++) {
    const cs = rec(inits[i]) ?? {};
    restarts += int(cs.restartCount);
    const st = stateOf(cs.state);
    if (st.terminated && st.terminated.exitCode === 0) continue;
    if (st.terminated) {
      const t = st.terminated;
      reason = t.reason ? `Init:${t.reason}` : t.signal ? `Init:Signal:${t.signal}` : `Init:ExitCode:${t.exitCode}`;
    } else if (st.waiting?.reason && st.waiting.reason !== 'PodInitializing') {
      reason = `Init:${st.waiting.reason}`;
    } else {
      reason = `Init:${i}/${initSpecs}`;
    }
    initializing = true;
    break;
  }
  let lastRestart = lastRestartOf(inits);

  let ready = 0;
  const apps = arr(status.containerStatuses);
  if (!initializing || conditionTrue(status, 'Initialized')) {
    restarts = 0;
    lastRestart = lastRestartOf(apps);
    let hasRunning = false;
    for (let i = apps.length - 1; i >= 0; i--) {
      const cs = rec(apps[i]) ?? {};
      restarts += int(cs.restartCount);
      const st = stateOf(cs.state);
      if (st.waiting?.reason) reason = st.waiting.reason;
      else if (st.terminated?.reason) reason = st.terminated.reason;
      else if (st.terminated) reason = st.terminated.signal ? `Signal:${st.terminated.signal}` : `ExitCode:${st.terminated.exitCode}`;
      else if (cs.ready === true && st.running) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === 'Completed' && hasRunning) reason = conditionTrue(status, 'Ready') ? 'Running' : 'NotReady';
  }

  if (pod.metadata.deletionTimestamp && str(status.reason) === 'NodeLost') reason = 'Unknown';
  else if (pod.metadata.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed') reason = 'Terminating';

  const restartsText = restarts !== 0 && lastRestart !== undefined ? `${restarts} (${humanDuration(now.getTime() - lastRestart)} ago)` : String(restarts);
  return { ready: `${ready}/${arr(spec.containers).length}`, status: reason, restarts: restartsText };
}

/** One `kubectl get pods` row (all columns; kubectl drops the -o wide ones itself). */
export function podRow(pod: KubeObject, now: Date): unknown[] {
  const spec = rec(pod.spec) ?? {};
  const status = rec(pod.status) ?? {};
  const s = podSummary(pod, now);
  const ip = str(rec(arr(status.podIPs)[0])?.ip) || str(status.podIP);
  const gates = arr(spec.readinessGates).map((g) => str(rec(g)?.conditionType));
  const trueGates = gates.filter((g) => conditionTrue(status, g)).length;
  return [
    pod.metadata.name ?? '',
    s.ready,
    s.status,
    s.restarts,
    ageOf(pod.metadata.creationTimestamp, now),
    orNone(ip),
    orNone(str(spec.nodeName)),
    orNone(str(status.nominatedNodeName)),
    gates.length ? `${trueGates}/${gates.length}` : '<none>',
  ];
}
