/**
 * core/v1 Pod: defaulting as the Kubernetes API server does it for the fields edgecore supports,
 * validation (pod-validate.ts), field selectors and the `kubectl get pods` table (pod-table.ts).
 *
 * Edge rule (issue 13): the default toleration of node.kubernetes.io/unreachable has no
 * tolerationSeconds — a pod tolerates an unreachable node forever, so a node that drops off the
 * network keeps its pods — unless the relay is configured otherwise (`PodKindOptions`). The
 * toleration is written into each pod, as Kubernetes shows its own default tolerations.
 */
import type { KubeObject } from '../../contract/kube/types.js';
import { cpuToNano, memoryToBytes } from '../../contract/resources/common.js';
import { pullPolicyOf, type Container } from '../../contract/resources/pod.js';
import { arr, pruneNulls, rec, str, type Obj } from './common.js';
import { POD_COLUMNS, podRow } from './pod-table.js';
import { validatePod } from './pod-validate.js';
import type { ResourceDef } from './types.js';

export interface PodKindOptions {
  /** tolerationSeconds of the default node.kubernetes.io/not-ready:NoExecute toleration; null = forever */
  notReadyTolerationSeconds: number | null;
  /** tolerationSeconds of the default node.kubernetes.io/unreachable:NoExecute toleration; null = forever (the edge default) */
  unreachableTolerationSeconds: number | null;
}

/** Kubernetes' 300 s for a node that says it is not ready; forever for a node that cannot be reached. */
export const EDGE_POD_DEFAULTS: PodKindOptions = { notReadyTolerationSeconds: 300, unreachableTolerationSeconds: null };

export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';

function setDefault(o: Obj, key: string, value: unknown): void {
  if (o[key] === undefined || o[key] === '') o[key] = value;
}

function defaultProbe(p: unknown): void {
  const probe = rec(p);
  if (!probe) return;
  setDefault(probe, 'timeoutSeconds', 1);
  setDefault(probe, 'periodSeconds', 10);
  setDefault(probe, 'successThreshold', 1);
  setDefault(probe, 'failureThreshold', 3);
  const http = rec(probe.httpGet);
  if (http) {
    setDefault(http, 'path', '/');
    setDefault(http, 'scheme', 'HTTP');
  }
}

function defaultContainer(c: Obj, hostNetwork: boolean): void {
  if (typeof c.image === 'string') setDefault(c, 'imagePullPolicy', pullPolicyOf({ image: c.image } as Container));
  setDefault(c, 'terminationMessagePath', '/dev/termination-log');
  setDefault(c, 'terminationMessagePolicy', 'File');
  for (const port of arr(c.ports)) {
    const p = rec(port);
    if (!p) continue;
    setDefault(p, 'protocol', 'TCP');
    if (hostNetwork && p.hostPort === undefined && typeof p.containerPort === 'number') p.hostPort = p.containerPort;
  }
  for (const k of ['livenessProbe', 'readinessProbe', 'startupProbe']) defaultProbe(c[k]);
  // requests default to limits, resource by resource
  const res = rec(c.resources);
  const limits = rec(res?.limits);
  if (res && limits) {
    const requests = rec(res.requests) ?? {};
    for (const k of Object.keys(limits)) if (requests[k] === undefined) requests[k] = limits[k];
    res.requests = requests;
  }
}

function defaultVolume(v: Obj): void {
  if (Object.keys(v).every((k) => k === 'name')) v.emptyDir = {};
  for (const k of ['configMap', 'secret']) {
    const src = rec(v[k]);
    if (src) setDefault(src, 'defaultMode', 0o644);
  }
  const hostPath = rec(v.hostPath);
  if (hostPath && hostPath.type === undefined) hostPath.type = '';
}

/** Does some toleration already cover `key`'s NoExecute taint (an empty key or effect matches all)? */
function tolerates(tolerations: unknown[], key: string): boolean {
  return tolerations.some((t) => {
    const o = rec(t);
    return !!o && (o.key === key || !o.key) && (o.effect === 'NoExecute' || !o.effect);
  });
}

function defaultTolerations(spec: Obj, opts: PodKindOptions): void {
  const list = Array.isArray(spec.tolerations) ? spec.tolerations : [];
  const add = (key: string, seconds: number | null): void => {
    if (tolerates(list, key)) return;
    list.push({ key, operator: 'Exists', effect: 'NoExecute', ...(seconds === null ? {} : { tolerationSeconds: seconds }) });
  };
  add(TAINT_NOT_READY, opts.notReadyTolerationSeconds);
  add(TAINT_UNREACHABLE, opts.unreachableTolerationSeconds);
  spec.tolerations = list;
}

/** Guaranteed, Burstable or BestEffort, from the (defaulted) requests and limits of every container. */
export function qosClassOf(spec: unknown): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const s = rec(spec) ?? {};
  const containers = [...arr(s.initContainers), ...arr(s.containers)].map((c) => rec(rec(c)?.resources) ?? {});
  let any = false;
  let guaranteed = containers.length > 0;
  for (const r of containers) {
    const limits = rec(r.limits) ?? {};
    const requests = rec(r.requests) ?? {};
    if (Object.keys(limits).length || Object.keys(requests).length) any = true;
    for (const [k, parse] of [
      ['cpu', cpuToNano],
      ['memory', memoryToBytes],
    ] as const) {
      const l = limits[k];
      const q = requests[k] ?? l;
      const lv = typeof l === 'string' || typeof l === 'number' ? parse(l) : undefined;
      const qv = typeof q === 'string' || typeof q === 'number' ? parse(q) : undefined;
      if (lv === undefined || qv === undefined || lv !== qv) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/**
 * Kubernetes' PodSpec defaults, in place (a pod's and a workload template's). The default
 * tolerations are the pod admission's: only pods get them (`tolerations` set), not templates.
 */
export function defaultPodSpec(spec: Obj, tolerations?: PodKindOptions): void {
  setDefault(spec, 'restartPolicy', 'Always');
  if (spec.terminationGracePeriodSeconds === undefined) spec.terminationGracePeriodSeconds = 30;
  setDefault(spec, 'dnsPolicy', 'ClusterFirst');
  setDefault(spec, 'schedulerName', 'default-scheduler');
  if (spec.securityContext === undefined) spec.securityContext = {};
  if (spec.enableServiceLinks === undefined) spec.enableServiceLinks = true;
  const hostNetwork = spec.hostNetwork === true;
  for (const c of [...arr(spec.initContainers), ...arr(spec.containers)]) {
    const o = rec(c);
    if (o) defaultContainer(o, hostNetwork);
  }
  for (const v of arr(spec.volumes)) {
    const o = rec(v);
    if (o) defaultVolume(o);
  }
  if (tolerations && (spec.tolerations === undefined || Array.isArray(spec.tolerations))) defaultTolerations(spec, tolerations);
}

/** Kubernetes' defaults for a pod, in place; tolerant of malformed input (validation reports it). */
export function defaultPod(obj: KubeObject, opts: PodKindOptions = EDGE_POD_DEFAULTS): void {
  pruneNulls(obj);
  const spec = rec(obj.spec);
  if (spec) defaultPodSpec(spec, opts);
  if (obj.status === undefined) obj.status = { phase: 'Pending' };
  const status = rec(obj.status);
  if (status) {
    if (status.qosClass === undefined && spec) status.qosClass = qosClassOf(spec);
    for (const [one, many] of [
      ['podIP', 'podIPs'],
      ['hostIP', 'hostIPs'],
    ] as const) {
      if (typeof status[one] === 'string' && status[one] && status[many] === undefined) status[many] = [{ ip: status[one] }];
    }
  }
}

/** The values a fieldSelector can name on a pod (metadata.* are the machinery's). */
export function podFields(obj: KubeObject): Record<string, string> {
  const spec = rec(obj.spec) ?? {};
  const status = rec(obj.status) ?? {};
  return {
    'spec.nodeName': str(spec.nodeName),
    'spec.restartPolicy': str(spec.restartPolicy),
    'spec.schedulerName': str(spec.schedulerName),
    'spec.serviceAccountName': str(spec.serviceAccountName),
    'spec.hostNetwork': String(spec.hostNetwork === true),
    'status.phase': str(status.phase),
    'status.podIP': str(rec(arr(status.podIPs)[0])?.ip) || str(status.podIP),
    'status.nominatedNodeName': str(status.nominatedNodeName),
  };
}

/**
 * How long a delete waits for the node to confirm the pod's containers are gone: the pod's
 * terminationGracePeriodSeconds (default 30) when it is bound to a node and has not finished;
 * an unbound or finished pod goes at once, as in Kubernetes.
 */
export function podGracePeriod(obj: KubeObject): number | undefined {
  const spec = rec(obj.spec) ?? {};
  const phase = str(rec(obj.status)?.phase);
  if (!str(spec.nodeName) || phase === 'Succeeded' || phase === 'Failed') return undefined;
  const grace = spec.terminationGracePeriodSeconds;
  return typeof grace === 'number' && Number.isInteger(grace) && grace >= 0 ? grace : 30;
}

export function podDef(opts: PodKindOptions = EDGE_POD_DEFAULTS): ResourceDef {
  return {
    group: '',
    version: 'v1',
    kind: 'Pod',
    plural: 'pods',
    singular: 'pod',
    shortNames: ['po'],
    categories: ['all'],
    namespaced: true,
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
    subresources: ['status', 'log', 'exec', 'attach', 'binding'],
    strategicMerge: true,
    statusSubresource: true,
    // what a client sends as status on create is replaced, as Kubernetes does
    prepareForCreate: (obj) => {
      obj.status = { phase: 'Pending', qosClass: qosClassOf(obj.spec) };
    },
    defaults: (obj) => defaultPod(obj, opts),
    gracefulDeletion: podGracePeriod,
    validate: (obj, old) => validatePod(obj, old),
    fields: podFields,
    columns: POD_COLUMNS,
    row: podRow,
    schemaName: 'io.k8s.api.core.v1.Pod',
  };
}
