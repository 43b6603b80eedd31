/**
 * Pod validation at the API: the node's own schema (src/contract/resources/pod.ts, which edged
 * applies again) plus what the Kubernetes API server adds — update rules for a pod that exists,
 * and the shape of the status a node reports through /status.
 */
import { isIP } from 'node:net';
import type { KubeObject } from '../../contract/kube/types.js';
import { DNS_SUBDOMAIN } from '../../contract/resources/common.js';
import { nodeNameSchema } from '../../contract/resources/kinds.js';
import { podSpecSchema } from '../../contract/resources/pod.js';
import type { FieldIssue } from '../../core/errors.js';
import * as z from 'zod';
import { arr, diffPaths, rec, sameJson, schemaIssues, str, type Obj } from './common.js';
import { markUnsupported } from './pod-fields.js';

const text = (max: number) => z.string().max(max);
const time = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an RFC 3339 time');
const ip = z.string().refine((s) => isIP(s) !== 0, 'must be an IP address');

const containerState = z
  .strictObject({
    waiting: z.strictObject({ reason: text(256).optional(), message: text(32_768).optional() }).optional(),
    running: z.strictObject({ startedAt: time.optional() }).optional(),
    terminated: z
      .strictObject({
        exitCode: z.number().int(),
        signal: z.number().int().optional(),
        reason: text(256).optional(),
        message: text(32_768).optional(),
        startedAt: time.optional(),
        finishedAt: time.optional(),
        containerID: text(256).optional(),
      })
      .optional(),
  })
  .refine((s) => Number(!!s.waiting) + Number(!!s.running) + Number(!!s.terminated) <= 1, 'at most one of waiting, running or terminated');

const containerStatus = z.strictObject({
  name: z.string().min(1).max(63),
  image: text(1024),
  imageID: text(1024),
  containerID: text(256).optional(),
  ready: z.boolean(),
  started: z.boolean().optional(),
  restartCount: z.number().int().min(0),
  state: containerState.optional(),
  lastState: containerState.optional(),
});

const condition = z.strictObject({
  type: z.string().min(1).max(316),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: text(1024).optional(),
  message: text(32_768).optional(),
  lastProbeTime: time.optional(),
  lastTransitionTime: time.optional(),
  observedGeneration: z.number().int().min(0).optional(),
});

/** PodStatus as a node (or a controller) may write it through /status. */
export const podStatusSchema = z.strictObject({
  phase: z.enum(['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown']).optional(),
  reason: text(1024).optional(),
  message: text(32_768).optional(),
  conditions: z.array(condition).max(64).optional(),
  podIP: ip.optional(),
  podIPs: z.array(z.strictObject({ ip })).max(2).optional(),
  hostIP: ip.optional(),
  hostIPs: z.array(z.strictObject({ ip })).max(2).optional(),
  nominatedNodeName: z.string().optional(),
  startTime: time.optional(),
  qosClass: z.enum(['Guaranteed', 'Burstable', 'BestEffort']).optional(),
  initContainerStatuses: z.array(containerStatus).optional(),
  containerStatuses: z.array(containerStatus).optional(),
});

const TERMINATION_POLICIES = ['File', 'FallbackToLogsOnError'];
const TOP_LEVEL = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);

/**
 * The node's schema on spec, and the API server's create-time rules. Generic metadata (a name that
 * is a DNS subdomain, labels, annotations) is the machinery's; only the pod's own name rule is here.
 */
function specIssues(obj: KubeObject): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const k of Object.keys(obj)) if (!TOP_LEVEL.has(k)) issues.push({ path: k, reason: 'unknown field' });
  const name = obj.metadata?.name;
  if (typeof name === 'string' && DNS_SUBDOMAIN.test(name) && (name.length > 63 || name.includes('.'))) {
    issues.push({ path: 'metadata.name', reason: 'pod names must be DNS labels here (at most 63 characters, no dots): the node names containers and hosts after them' });
  }
  if (obj.spec === undefined) return [...issues, { path: 'spec', reason: 'Required value' }];
  issues.push(...markUnsupported(schemaIssues(podSpecSchema, obj.spec, 'spec')));
  const spec = rec(obj.spec);
  if (!spec) return issues;
  if (typeof spec.nodeName === 'string' && spec.nodeName !== '') {
    issues.push(...schemaIssues(nodeNameSchema, spec.nodeName, 'spec.nodeName').map((i) => ({ ...i, reason: `${i.reason} (node names are DNS labels)` })));
  }
  for (const field of ['initContainers', 'containers'] as const) {
    arr(spec[field]).forEach((c, i) => {
      const p = rec(c)?.terminationMessagePolicy;
      if (p !== undefined && !TERMINATION_POLICIES.includes(p as string)) {
        issues.push({ path: `spec.${field}[${i}].terminationMessagePolicy`, reason: `must be one of ${TERMINATION_POLICIES.join(', ')}` });
      }
    });
  }
  return issues;
}

const UPDATABLE = 'only spec.containers[*].image, spec.initContainers[*].image, spec.activeDeadlineSeconds and additions to spec.tolerations may change on an existing pod';

function sameToleration(a: unknown, b: unknown): boolean {
  const x = { ...(rec(a) ?? {}) };
  const y = { ...(rec(b) ?? {}) };
  delete x.tolerationSeconds;
  delete y.tolerationSeconds;
  return sameJson(x, y);
}

/** Kubernetes' rule for updating a pod: its spec is fixed but for images, the deadline and added tolerations. */
function updateIssues(spec: Obj, oldSpec: Obj): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const munged: Obj = { ...spec };
  for (const field of ['containers', 'initContainers'] as const) {
    const now = arr(spec[field]);
    const before = arr(oldSpec[field]);
    if (now.length !== before.length) {
      issues.push({ path: `spec.${field}`, reason: 'containers may not be added to or removed from an existing pod' });
      continue;
    }
    if (spec[field] !== undefined) munged[field] = now.map((c, i) => ({ ...(rec(c) ?? {}), image: rec(before[i])?.image }));
  }
  const deadline = spec.activeDeadlineSeconds;
  const oldDeadline = oldSpec.activeDeadlineSeconds;
  if (typeof oldDeadline === 'number') {
    if (deadline === undefined) issues.push({ path: 'spec.activeDeadlineSeconds', reason: 'may not be removed once set' });
    else if (typeof deadline === 'number' && deadline > oldDeadline) issues.push({ path: 'spec.activeDeadlineSeconds', reason: `may only decrease (was ${oldDeadline})` });
  }
  munged.activeDeadlineSeconds = oldDeadline;
  const tolerations = arr(spec.tolerations);
  const lost = arr(oldSpec.tolerations).findIndex((o) => !tolerations.some((t) => sameToleration(o, t)));
  if (lost >= 0) issues.push({ path: 'spec.tolerations', reason: `existing tolerations may not be removed or changed, except their tolerationSeconds (tolerations[${lost}] of the pod is missing)` });
  munged.tolerations = oldSpec.tolerations;
  const base = { ...oldSpec };
  for (const k of Object.keys(munged)) if (munged[k] === undefined) delete munged[k];
  for (const k of Object.keys(base)) if (base[k] === undefined) delete base[k];
  for (const path of diffPaths(base, munged, 'spec')) {
    if (issues.some((i) => path.startsWith(i.path))) continue;
    issues.push({ path, reason: `may not be changed: ${UPDATABLE}` });
  }
  return issues;
}

/** Status rules: the shape, container names that exist in the spec, one IP story, and no way back from a finished phase. */
function statusIssues(status: unknown, spec: Obj, oldStatus: unknown): FieldIssue[] {
  if (status === undefined) return [];
  const issues = schemaIssues(podStatusSchema, status, 'status');
  const s = rec(status);
  if (!s || issues.length) return issues;
  for (const [field, specField] of [
    ['initContainerStatuses', 'initContainers'],
    ['containerStatuses', 'containers'],
  ] as const) {
    const names = new Set(arr(spec[specField]).map((c) => str(rec(c)?.name)));
    const seen = new Set<string>();
    arr(s[field]).forEach((cs, i) => {
      const name = str(rec(cs)?.name);
      if (!names.has(name)) issues.push({ path: `status.${field}[${i}].name`, reason: `the pod has no ${specField === 'containers' ? 'container' : 'init container'} "${name}"` });
      else if (seen.has(name)) issues.push({ path: `status.${field}[${i}].name`, reason: `"${name}" is reported twice` });
      seen.add(name);
    });
  }
  for (const [one, many] of [
    ['podIP', 'podIPs'],
    ['hostIP', 'hostIPs'],
  ] as const) {
    const first = str(rec(arr(s[many])[0])?.ip);
    if (s[one] !== undefined && first && first !== s[one]) issues.push({ path: `status.${many}[0].ip`, reason: `must equal status.${one} (${str(s[one])})` });
  }
  const was = str(rec(oldStatus)?.phase);
  const phase = str(s.phase);
  if ((was === 'Succeeded' || was === 'Failed') && phase !== was) {
    issues.push({ path: 'status.phase', reason: `may not change from ${was} to ${phase || 'nothing'}: a finished pod stays finished` });
  }
  return issues;
}

/** Every problem with a pod; `old` is the stored pod on update. */
export function validatePod(obj: KubeObject, old: KubeObject | undefined): FieldIssue[] {
  const issues = specIssues(obj);
  const spec = rec(obj.spec) ?? {};
  const oldSpec = rec(old?.spec);
  if (old && oldSpec && rec(obj.spec)) issues.push(...updateIssues(spec, oldSpec));
  if (!old || !sameJson(obj.status, old.status)) issues.push(...statusIssues(obj.status, spec, old?.status));
  return issues;
}
