/**
 * Service validation as kube-apiserver words it (ValidateService / ValidateServiceUpdate), for
 * the subset edgecore implements. What Kubernetes has and edgecore does not do — external IPs,
 * SCTP, IPv6 and dual stack, externalTrafficPolicy Local, a requested loadBalancerIP — is
 * refused as "not supported by edgecore" rather than accepted and ignored.
 */
import { isIP } from 'node:net';
import { labelKeyProblem, labelValueProblem } from '../../contract/kube/selectors.js';
import type { KubeObject } from '../../contract/kube/types.js';
import { DNS_SUBDOMAIN } from '../../contract/resources/common.js';
import { isDns1035Label, isDnsLabel, isTargetPort, serviceSpecSchema, serviceStatusSchema, type ServiceSpec } from '../../contract/resources/service.js';
import type { FieldIssue } from '../../core/errors.js';
import { rec, sameJson, schemaIssues, str } from './common.js';
import { NOT_SUPPORTED } from './pod-fields.js';

const DNS1035 = 'a DNS-1035 label must consist of lower case alphanumeric characters or \'-\', start with an alphabetic character, and end with an alphanumeric character';
const RFC1123_LABEL = 'a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\', and must start and end with an alphanumeric character';
const RFC1123_SUBDOMAIN =
  'a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \'-\' or \'.\', and must start and end with an alphanumeric character';

const quote = (v: unknown): string => (typeof v === 'string' ? `"${v}"` : JSON.stringify(v));

function portIssues(spec: ServiceSpec, issues: FieldIssue[]): void {
  const ports = spec.ports ?? [];
  const names = new Set<string>();
  const pairs = new Set<string>();
  ports.forEach((p, i) => {
    const at = `spec.ports[${i}]`;
    if (ports.length > 1 && !p.name) issues.push({ path: `${at}.name`, reason: 'Required value' });
    if (p.name) {
      if (!isDnsLabel(p.name)) issues.push({ path: `${at}.name`, reason: `Invalid value: ${quote(p.name)}: ${RFC1123_LABEL}` });
      else if (names.has(p.name)) issues.push({ path: `${at}.name`, reason: `Duplicate value: ${quote(p.name)}` });
      names.add(p.name);
    }
    if (p.port < 1 || p.port > 65535) issues.push({ path: `${at}.port`, reason: `Invalid value: ${p.port}: must be between 1 and 65535, inclusive` });
    if (p.targetPort !== undefined && !isTargetPort(p.targetPort)) {
      issues.push({
        path: `${at}.targetPort`,
        reason:
          typeof p.targetPort === 'number'
            ? `Invalid value: ${p.targetPort}: must be between 1 and 65535, inclusive`
            : `Invalid value: ${quote(p.targetPort)}: must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-), at most 15 characters, with at least one letter`,
      });
    }
    if (p.protocol === 'SCTP') issues.push({ path: `${at}.protocol`, reason: NOT_SUPPORTED });
    const pair = `${p.port}/${p.protocol ?? 'TCP'}`;
    if (pairs.has(pair)) issues.push({ path: at, reason: `Duplicate value: ${pair}` });
    pairs.add(pair);
    if (p.nodePort && spec.type !== 'NodePort' && spec.type !== 'LoadBalancer') {
      issues.push({ path: `${at}.nodePort`, reason: `Forbidden: may not be used when \`type\` is '${spec.type ?? 'ClusterIP'}'` });
    }
    if (p.nodePort !== undefined && p.nodePort !== 0 && (p.nodePort < 1 || p.nodePort > 65535)) {
      issues.push({ path: `${at}.nodePort`, reason: `Invalid value: ${p.nodePort}: must be between 1 and 65535, inclusive` });
    }
  });
}

function typeIssues(spec: ServiceSpec, issues: FieldIssue[]): void {
  const type = spec.type ?? 'ClusterIP';
  const headless = spec.clusterIP === 'None';
  if (type === 'ExternalName') {
    if (!spec.externalName) issues.push({ path: 'spec.externalName', reason: 'Required value' });
    else {
      const name = spec.externalName.replace(/\.$/, '');
      if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) issues.push({ path: 'spec.externalName', reason: `Invalid value: ${quote(spec.externalName)}: ${RFC1123_SUBDOMAIN}` });
    }
    if (spec.clusterIP) issues.push({ path: 'spec.clusterIP', reason: 'Forbidden: may not be set for ExternalName services' });
    if (spec.clusterIPs?.length) issues.push({ path: 'spec.clusterIPs', reason: 'Forbidden: may not be set for ExternalName services' });
    if (spec.ipFamilies?.length) issues.push({ path: 'spec.ipFamilies', reason: 'Forbidden: may not be set for ExternalName services' });
    if (spec.ipFamilyPolicy) issues.push({ path: 'spec.ipFamilyPolicy', reason: 'Forbidden: may not be set for ExternalName services' });
  } else {
    if (!headless && !(spec.ports ?? []).length) issues.push({ path: 'spec.ports', reason: 'Required value' });
    if (spec.externalName) issues.push({ path: 'spec.externalName', reason: `Forbidden: may not be set when \`type\` is '${type}'` });
    if (headless && type !== 'ClusterIP') issues.push({ path: 'spec.clusterIPs[0]', reason: `Invalid value: ["None"]: may not be set to 'None' for ${type} services` });
  }
  const ips = spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : []);
  ips.forEach((v, i) => {
    if (v === 'None' && i === 0) return;
    if (v !== '' && isIP(v) === 0) issues.push({ path: `spec.clusterIPs[${i}]`, reason: `Invalid value: ${quote(v)}: must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)` });
    else if (isIP(v) === 6) issues.push({ path: `spec.clusterIPs[${i}]`, reason: NOT_SUPPORTED });
  });
  if (spec.clusterIP !== undefined && spec.clusterIPs?.length && spec.clusterIPs[0] !== spec.clusterIP) {
    issues.push({ path: 'spec.clusterIPs[0]', reason: `Invalid value: ${quote(spec.clusterIPs[0])}: must match \`clusterIP\` if specified` });
  }
}

function affinityIssues(spec: ServiceSpec, issues: FieldIssue[]): void {
  const t = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  if (spec.sessionAffinity === 'ClientIP') {
    if (t !== undefined && (t <= 0 || t > 86_400)) {
      issues.push({ path: 'spec.sessionAffinityConfig.clientIP.timeoutSeconds', reason: `Invalid value: ${t}: must be greater than 0 and less than 86400` });
    }
  } else if (spec.sessionAffinityConfig) {
    issues.push({ path: 'spec.sessionAffinityConfig', reason: `Invalid value: ${JSON.stringify(spec.sessionAffinityConfig)}: must not be set when session affinity is None` });
  }
}

/** What Kubernetes has and edgecore refuses (never silently dropped). */
function unsupported(spec: ServiceSpec, issues: FieldIssue[]): void {
  if (spec.externalIPs?.length) issues.push({ path: 'spec.externalIPs', reason: NOT_SUPPORTED });
  if (spec.externalTrafficPolicy === 'Local') issues.push({ path: 'spec.externalTrafficPolicy', reason: NOT_SUPPORTED });
  if (spec.healthCheckNodePort) issues.push({ path: 'spec.healthCheckNodePort', reason: NOT_SUPPORTED });
  if (spec.loadBalancerIP) issues.push({ path: 'spec.loadBalancerIP', reason: NOT_SUPPORTED });
  if (spec.ipFamilies?.includes('IPv6')) issues.push({ path: 'spec.ipFamilies', reason: NOT_SUPPORTED });
  if (spec.ipFamilyPolicy === 'RequireDualStack') issues.push({ path: 'spec.ipFamilyPolicy', reason: NOT_SUPPORTED });
  if (spec.trafficDistribution !== undefined && spec.trafficDistribution !== 'PreferClose') {
    issues.push({ path: 'spec.trafficDistribution', reason: `Unsupported value: ${quote(spec.trafficDistribution)}: supported values: "PreferClose"` });
  }
  (spec.loadBalancerSourceRanges ?? []).forEach((r, i) => {
    const [addr, bits, extra] = r.split('/');
    const ok = extra === undefined && isIP(addr ?? '') === 4 && /^\d{1,2}$/.test(bits ?? '') && Number(bits) <= 32;
    if (!ok) issues.push({ path: `spec.loadBalancerSourceRanges[${i}]`, reason: `Invalid value: ${quote(r)}: must be a valid IPv4 CIDR (e.g. 10.0.0.0/8)` });
  });
  if ((spec.loadBalancerSourceRanges?.length || spec.loadBalancerClass) && spec.type !== 'LoadBalancer') {
    issues.push({ path: spec.loadBalancerClass ? 'spec.loadBalancerClass' : 'spec.loadBalancerSourceRanges', reason: 'Forbidden: may only be used when `type` is \'LoadBalancer\'' });
  }
}

function selectorIssues(selector: Record<string, string> | undefined, issues: FieldIssue[]): void {
  for (const [k, v] of Object.entries(selector ?? {})) {
    const kp = labelKeyProblem(k);
    if (kp) issues.push({ path: 'spec.selector', reason: `Invalid value: ${quote(k)}: ${kp}` });
    const vp = labelValueProblem(v);
    if (vp) issues.push({ path: `spec.selector.${k}`, reason: `Invalid value: ${quote(v)}: a valid label value ${vp}` });
  }
}

/** What kube-apiserver checks on an update that it does not on a create. */
function updateIssues(spec: ServiceSpec, old: ServiceSpec, issues: FieldIssue[]): void {
  const was = old.clusterIPs ?? (old.clusterIP ? [old.clusterIP] : []);
  const now = spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : []);
  // an ExternalName service has none, and a change to ExternalName clears it
  // left out: the allocator keeps the one it has (as Kubernetes' patchAllocatedValues does)
  if (spec.type !== 'ExternalName' && old.type !== 'ExternalName' && was.length && now.length && !sameJson(was, now)) {
    issues.push({ path: 'spec.clusterIPs[0]', reason: `Invalid value: ${JSON.stringify(now)}: may not change once set` });
  }
}

export function validateService(obj: KubeObject, old: KubeObject | undefined): FieldIssue[] {
  const name = obj.metadata.name ?? '';
  const issues: FieldIssue[] = [];
  if (!isDns1035Label(name)) issues.push({ path: 'metadata.name', reason: `Invalid value: ${quote(name)}: ${DNS1035}` });
  for (const k of Object.keys(obj)) {
    if (!['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(k)) issues.push({ path: k, reason: 'unknown field' });
  }
  const shape = schemaIssues(serviceSpecSchema, obj.spec ?? {}, 'spec');
  if (obj.status !== undefined && (!old || !sameJson(obj.status, old.status))) shape.push(...schemaIssues(serviceStatusSchema, obj.status, 'status'));
  if (shape.length) return [...issues, ...shape];
  const spec = obj.spec as ServiceSpec;
  portIssues(spec, issues);
  typeIssues(spec, issues);
  affinityIssues(spec, issues);
  unsupported(spec, issues);
  selectorIssues(spec.selector, issues);
  if (old) updateIssues(spec, (rec(old.spec) ?? {}) as ServiceSpec, issues);
  return issues;
}

/** The ClusterIP a stored Service holds, or '' (none, headless, ExternalName). */
export function allocatedClusterIp(svc: KubeObject | undefined): string {
  const v = str(rec(svc?.spec)?.clusterIP);
  return v && v !== 'None' ? v : '';
}
