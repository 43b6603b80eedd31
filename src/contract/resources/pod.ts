/**
 * Kubernetes v1 Pod, the subset edgecore runs (see docs/edged.md). Strict: any field outside the
 * subset is refused with its path ("spec.containers[0].lifecycle: unknown field"), never ignored.
 * Shared by the node (edged), the relay and edgectl.
 *
 * Host devices: a `hostPath` volume with `type: CharDevice` (or BlockDevice) mounted into a
 * container is passed through as a device (cgroup access "rwm", "r" when the mount is readOnly).
 */
import * as z from 'zod';
import { parseOrThrow } from '../../lib/schema.js';
import { cpuQuantity, cpuToNano, DATA_KEY, dnsLabel, fileMode, memoryQuantity, memoryToBytes, metadataSchema } from './common.js';
import { dnsSubdomain, labelValue, qualifiedName, qualifiedNameProblem } from './common.js';

const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const absPath = z.string().min(1).startsWith('/', 'must be an absolute path');
const relPath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), 'must be a relative path without ..');
const port = z.number().int().min(1).max(65535);
const intOrName = z.union([port, z.string().regex(/^[a-z0-9-]{1,15}$/, 'must be a port number or a port name')]);

const keyRef = z.strictObject({ name: dnsLabel.or(z.string().regex(/^[a-z0-9.-]+$/)), key: z.string().regex(DATA_KEY, 'must be a data key'), optional: z.boolean().optional() });

/** Pod fields a container's env may read (Downward API), besides labels['k'] / annotations['k']. */
export const ENV_FIELD_PATHS = [
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  'spec.nodeName',
  'spec.serviceAccountName',
  'status.podIP',
  'status.podIPs',
  'status.hostIP',
  'status.hostIPs',
] as const;
/** Pod fields a downwardAPI volume file may hold, besides labels['k'] / annotations['k']. */
export const VOLUME_FIELD_PATHS = ['metadata.name', 'metadata.namespace', 'metadata.uid', 'metadata.labels', 'metadata.annotations'] as const;
/** `metadata.labels['key']` / `metadata.annotations['key']` */
export const SUBSCRIPT_PATH = /^metadata\.(labels|annotations)\['([^']+)'\]$/;
export const RESOURCE_FIELDS = ['limits.cpu', 'limits.memory', 'limits.ephemeral-storage', 'requests.cpu', 'requests.memory', 'requests.ephemeral-storage'] as const;

const fieldRef = (paths: readonly string[]) =>
  z.strictObject({
    apiVersion: z.literal('v1').optional(),
    fieldPath: z.string().refine((p) => paths.includes(p) || SUBSCRIPT_PATH.test(p), `must be one of ${paths.join(', ')}, metadata.labels['<key>'] or metadata.annotations['<key>']`),
  });
const divisor = z.union([z.string(), z.number()]);
const resourceFieldRef = z
  .strictObject({ containerName: z.string().optional(), resource: z.enum(RESOURCE_FIELDS), divisor: divisor.optional() })
  .superRefine((r, ctx) => {
    if (r.divisor === undefined) return;
    const ok = r.resource.endsWith('.cpu') ? (cpuToNano(r.divisor) ?? 0) > 0 : (memoryToBytes(r.divisor) ?? 0) > 0;
    if (!ok) ctx.addIssue({ code: 'custom', path: ['divisor'], message: `must be a positive ${r.resource.endsWith('.cpu') ? 'CPU' : 'byte'} quantity` });
  });
export type ResourceFieldRef = z.output<typeof resourceFieldRef>;

const envVar = z.strictObject({
  name: z.string().regex(ENV_NAME, 'must be a valid environment variable name'),
  value: z.string().optional(),
  valueFrom: z
    .strictObject({ configMapKeyRef: keyRef.optional(), secretKeyRef: keyRef.optional(), fieldRef: fieldRef(ENV_FIELD_PATHS).optional(), resourceFieldRef: resourceFieldRef.optional() })
    .refine(
      (v) => Number(!!v.configMapKeyRef) + Number(!!v.secretKeyRef) + Number(!!v.fieldRef) + Number(!!v.resourceFieldRef) === 1,
      'exactly one of configMapKeyRef, secretKeyRef, fieldRef or resourceFieldRef',
    )
    .optional(),
});

const sourceRef = z.strictObject({ name: z.string().min(1), optional: z.boolean().optional() });
const envFrom = z
  .strictObject({ prefix: z.string().optional(), configMapRef: sourceRef.optional(), secretRef: sourceRef.optional() })
  .refine((v) => Number(!!v.configMapRef) + Number(!!v.secretRef) === 1, 'exactly one of configMapRef or secretRef');

const containerPort = z.strictObject({
  name: z.string().regex(/^[a-z0-9-]{1,15}$/, 'must be at most 15 lower-case letters, digits or -').optional(),
  containerPort: port,
  hostPort: port.optional(),
  hostIP: z.string().optional(),
  protocol: z.enum(['TCP', 'UDP']).default('TCP'),
});

const httpHeader = z.strictObject({ name: z.string().min(1), value: z.string() });
const probe = z
  .strictObject({
    exec: z.strictObject({ command: z.array(z.string()).min(1) }).optional(),
    httpGet: z
      .strictObject({
        path: z.string().default('/'),
        port: intOrName,
        host: z.string().optional(),
        scheme: z.enum(['HTTP']).default('HTTP'),
        httpHeaders: z.array(httpHeader).optional(),
      })
      .optional(),
    tcpSocket: z.strictObject({ port: intOrName, host: z.string().optional() }).optional(),
    initialDelaySeconds: z.number().int().min(0).default(0),
    periodSeconds: z.number().int().min(1).default(10),
    timeoutSeconds: z.number().int().min(1).default(1),
    successThreshold: z.number().int().min(1).default(1),
    failureThreshold: z.number().int().min(1).default(3),
  })
  .refine((p) => Number(!!p.exec) + Number(!!p.httpGet) + Number(!!p.tcpSocket) === 1, 'exactly one of exec, httpGet or tcpSocket');
export type Probe = z.output<typeof probe>;

const volumeMount = z.strictObject({
  name: z.string().min(1),
  mountPath: absPath,
  readOnly: z.boolean().default(false),
  subPath: relPath.optional(),
});

const container = z.strictObject({
  name: dnsLabel,
  image: z.string().min(1, 'is required'),
  imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).optional(),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  workingDir: absPath.optional(),
  env: z.array(envVar).optional(),
  envFrom: z.array(envFrom).optional(),
  ports: z.array(containerPort).optional(),
  resources: z
    .strictObject({
      limits: z.strictObject({ cpu: cpuQuantity.optional(), memory: memoryQuantity.optional() }).optional(),
      requests: z.strictObject({ cpu: cpuQuantity.optional(), memory: memoryQuantity.optional() }).optional(),
    })
    .optional(),
  volumeMounts: z.array(volumeMount).optional(),
  livenessProbe: probe.optional(),
  readinessProbe: probe.optional(),
  startupProbe: probe.optional(),
  securityContext: z
    .strictObject({ privileged: z.boolean().optional(), runAsUser: z.number().int().min(0).optional(), runAsGroup: z.number().int().min(0).optional() })
    .optional(),
  stdin: z.boolean().optional(),
  tty: z.boolean().optional(),
  terminationMessagePath: z.string().optional(),
  terminationMessagePolicy: z.string().optional(),
});
export type Container = z.output<typeof container>;

const keyToPath = z.strictObject({ key: z.string().regex(DATA_KEY, 'must be a data key'), path: relPath, mode: fileMode.optional() });
const downwardFile = z
  .strictObject({ path: relPath, fieldRef: fieldRef(VOLUME_FIELD_PATHS).optional(), resourceFieldRef: resourceFieldRef.optional(), mode: fileMode.optional() })
  .refine((f) => Number(!!f.fieldRef) + Number(!!f.resourceFieldRef) === 1, 'exactly one of fieldRef or resourceFieldRef')
  .refine((f) => !f.resourceFieldRef || !!f.resourceFieldRef.containerName, { message: 'containerName is required in a volume', path: ['resourceFieldRef', 'containerName'] });
export type DownwardFile = z.output<typeof downwardFile>;

const volume = z
  .strictObject({
    name: dnsLabel,
    hostPath: z
      .strictObject({
        path: absPath,
        type: z.enum(['', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice']).default(''),
      })
      .optional(),
    emptyDir: z.strictObject({ medium: z.enum(['', 'Memory']).default(''), sizeLimit: memoryQuantity.optional() }).optional(),
    configMap: z
      .strictObject({ name: z.string().min(1), items: z.array(keyToPath).optional(), defaultMode: fileMode.default(0o644), optional: z.boolean().optional() })
      .optional(),
    secret: z
      .strictObject({ secretName: z.string().min(1), items: z.array(keyToPath).optional(), defaultMode: fileMode.default(0o644), optional: z.boolean().optional() })
      .optional(),
    downwardAPI: z.strictObject({ items: z.array(downwardFile).default([]), defaultMode: fileMode.default(0o644) }).optional(),
  })
  .refine(
    (v) => Number(!!v.hostPath) + Number(!!v.emptyDir) + Number(!!v.configMap) + Number(!!v.secret) + Number(!!v.downwardAPI) === 1,
    'exactly one of hostPath, emptyDir, configMap, secret or downwardAPI',
  );
export type Volume = z.output<typeof volume>;

// Scheduling fields: read by the relay (scheduler, node lifecycle); edged refuses a pod whose
// nodeSelector or required node affinity does not match its node (as the kubelet does).
const toleration = z
  .strictObject({
    key: qualifiedName.or(z.literal('')).optional(),
    operator: z.enum(['Exists', 'Equal']).optional(),
    value: labelValue.optional(),
    effect: z.enum(['', 'NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
    tolerationSeconds: z.number().int().optional(),
  })
  .superRefine((t, ctx) => {
    if (!t.key && t.operator !== 'Exists') ctx.addIssue({ code: 'custom', path: ['operator'], message: 'must be Exists when key is empty (it then matches every taint)' });
    if (t.operator === 'Exists' && t.value) ctx.addIssue({ code: 'custom', path: ['value'], message: 'must be empty when operator is Exists' });
    if (t.tolerationSeconds !== undefined && t.effect !== 'NoExecute') ctx.addIssue({ code: 'custom', path: ['effect'], message: 'must be NoExecute when tolerationSeconds is set' });
  });
export type Toleration = z.output<typeof toleration>;

const selectorRequirement = (field: 'matchExpressions' | 'matchFields') =>
  z
    .strictObject({
      key: z.string(),
      operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt']),
      values: z.array(z.string()).optional(),
    })
    .superRefine((r, ctx) => {
      const n = r.values?.length ?? 0;
      const why = field === 'matchFields' ? (r.key === 'metadata.name' ? undefined : 'only metadata.name is supported') : qualifiedNameProblem(r.key);
      if (why) ctx.addIssue({ code: 'custom', path: ['key'], message: why });
      if ((r.operator === 'In' || r.operator === 'NotIn') && n === 0) ctx.addIssue({ code: 'custom', path: ['values'], message: `must not be empty for ${r.operator}` });
      if ((r.operator === 'Exists' || r.operator === 'DoesNotExist') && n > 0) ctx.addIssue({ code: 'custom', path: ['values'], message: `must be empty for ${r.operator}` });
      if ((r.operator === 'Gt' || r.operator === 'Lt') && (n !== 1 || !/^-?\d+$/.test(r.values![0]!))) {
        ctx.addIssue({ code: 'custom', path: ['values'], message: `must be one integer for ${r.operator}` });
      }
    });
const nodeSelectorTerm = z.strictObject({
  matchExpressions: z.array(selectorRequirement('matchExpressions')).optional(),
  matchFields: z.array(selectorRequirement('matchFields')).optional(),
});
export type NodeSelectorTerm = z.output<typeof nodeSelectorTerm>;
export type NodeSelectorRequirement = NonNullable<NodeSelectorTerm['matchExpressions']>[number];
const nodeAffinity = z.strictObject({
  requiredDuringSchedulingIgnoredDuringExecution: z.strictObject({ nodeSelectorTerms: z.array(nodeSelectorTerm).min(1, 'at least one term') }).optional(),
  preferredDuringSchedulingIgnoredDuringExecution: z.array(z.strictObject({ weight: z.number().int().min(1).max(100), preference: nodeSelectorTerm })).optional(),
});
const nodeSelector = z.record(z.string(), labelValue).superRefine((r, ctx) => {
  for (const k of Object.keys(r)) {
    const why = qualifiedNameProblem(k);
    if (why) ctx.addIssue({ code: 'custom', path: [k], message: why });
  }
});

const dnsConfig = z.strictObject({
  nameservers: z.array(z.string().min(1)).max(3).optional(),
  searches: z.array(z.string().min(1)).max(32).optional(),
  options: z.array(z.strictObject({ name: z.string().min(1), value: z.string().optional() })).optional(),
});

export const podSpecSchema = z
  .strictObject({
    containers: z.array(container).min(1, 'at least one container'),
    initContainers: z.array(container).optional(),
    restartPolicy: z.enum(['Always', 'OnFailure', 'Never']).default('Always'),
    hostNetwork: z.boolean().default(false),
    volumes: z.array(volume).optional(),
    terminationGracePeriodSeconds: z.number().int().min(0).max(3600).default(30),
    imagePullSecrets: z.array(z.strictObject({ name: z.string().min(1) })).optional(),
    nodeName: z.string().optional(),
    hostname: dnsLabel.optional(),
    // accepted for the relay (scheduling, API defaults); their meaning on the node is in docs/edged.md
    nodeSelector: nodeSelector.optional(),
    affinity: z.strictObject({ nodeAffinity: nodeAffinity.optional() }).optional(),
    tolerations: z.array(toleration).optional(),
    schedulerName: z.string().min(1).optional(),
    priorityClassName: dnsSubdomain.or(z.literal('')).optional(),
    dnsPolicy: z.enum(['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None']).optional(),
    /** edged mounts this service account's token for the node's MetaServer (docs/metaserver.md) */
    serviceAccountName: dnsSubdomain.or(z.literal('')).optional(),
    /** false: no token, no KUBERNETES_SERVICE_* variables */
    automountServiceAccountToken: z.boolean().optional(),
    enableServiceLinks: z.boolean().optional(),
    /** defaults for every container's user/group, and extra groups for their processes */
    securityContext: z
      .strictObject({ runAsUser: z.number().int().min(0).optional(), runAsGroup: z.number().int().min(0).optional(), supplementalGroups: z.array(z.number().int().min(0)).optional() })
      .optional(),
    dnsConfig: dnsConfig.optional(),
    /** deprecated alias of serviceAccountName */
    serviceAccount: z.string().optional(),
    priority: z.number().int().optional(),
    preemptionPolicy: z.enum(['PreemptLowerPriority', 'Never']).optional(),
  })
  .superRefine((spec, ctx) => {
    const volumes = new Map<string, Volume>();
    (spec.volumes ?? []).forEach((v, i) => {
      if (volumes.has(v.name)) ctx.addIssue({ code: 'custom', path: ['volumes', i, 'name'], message: `duplicate volume name "${v.name}"` });
      volumes.set(v.name, v);
    });
    const names = new Set<string>();
    const hostPorts = new Set<string>();
    const check = (list: Container[], field: 'containers' | 'initContainers'): void => {
      list.forEach((c, i) => {
        if (names.has(c.name)) ctx.addIssue({ code: 'custom', path: [field, i, 'name'], message: `duplicate container name "${c.name}"` });
        names.add(c.name);
        if (field === 'initContainers') {
          for (const p of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
            if (c[p]) ctx.addIssue({ code: 'custom', path: [field, i, p], message: 'not allowed on init containers' });
          }
        }
        (c.env ?? []).forEach((e, j) => {
          if (e.value !== undefined && e.valueFrom) ctx.addIssue({ code: 'custom', path: [field, i, 'env', j, 'valueFrom'], message: 'cannot be set together with value' });
          const rc = e.valueFrom?.resourceFieldRef?.containerName;
          if (rc && rc !== c.name && ![...spec.containers, ...(spec.initContainers ?? [])].some((x) => x.name === rc)) {
            ctx.addIssue({ code: 'custom', path: [field, i, 'env', j, 'valueFrom', 'resourceFieldRef', 'containerName'], message: `no container named "${rc}"` });
          }
        });
        (c.ports ?? []).forEach((p, j) => {
          if (p.hostPort === undefined) return;
          const k = `${p.protocol}/${p.hostPort}`;
          if (hostPorts.has(k)) ctx.addIssue({ code: 'custom', path: [field, i, 'ports', j, 'hostPort'], message: `host port ${k} used twice` });
          hostPorts.add(k);
          if (spec.hostNetwork && p.hostPort !== p.containerPort) {
            ctx.addIssue({ code: 'custom', path: [field, i, 'ports', j, 'hostPort'], message: 'must equal containerPort with hostNetwork' });
          }
        });
        const mounts = new Set<string>();
        (c.volumeMounts ?? []).forEach((m, j) => {
          const v = volumes.get(m.name);
          if (!v) ctx.addIssue({ code: 'custom', path: [field, i, 'volumeMounts', j, 'name'], message: `no volume named "${m.name}"` });
          if (mounts.has(m.mountPath)) ctx.addIssue({ code: 'custom', path: [field, i, 'volumeMounts', j, 'mountPath'], message: 'mounted twice' });
          mounts.add(m.mountPath);
          if (v && isDeviceVolume(v) && m.subPath) ctx.addIssue({ code: 'custom', path: [field, i, 'volumeMounts', j, 'subPath'], message: 'not allowed for a device' });
        });
      });
    };
    check(spec.initContainers ?? [], 'initContainers');
    check(spec.containers, 'containers');
    if (spec.dnsPolicy === 'None' && !spec.dnsConfig?.nameservers?.length) {
      ctx.addIssue({ code: 'custom', path: ['dnsConfig', 'nameservers'], message: 'at least one nameserver is required with dnsPolicy None' });
    }
    (spec.volumes ?? []).forEach((v, i) => {
      (v.downwardAPI?.items ?? []).forEach((f, j) => {
        const n = f.resourceFieldRef?.containerName;
        if (n && !names.has(n)) ctx.addIssue({ code: 'custom', path: ['volumes', i, 'downwardAPI', 'items', j, 'resourceFieldRef', 'containerName'], message: `no container named "${n}"` });
      });
    });
  });
export type PodSpec = z.output<typeof podSpecSchema>;

export const podSchema = z.strictObject({
  apiVersion: z.literal('v1').default('v1'),
  kind: z.literal('Pod').default('Pod'),
  metadata: metadataSchema.refine((m) => m.name.length <= 63 && /^[a-z0-9-]+$/.test(m.name), { message: 'pod names must be DNS labels (at most 63, no dots)', path: ['name'] }),
  spec: podSpecSchema,
  /** ignored on input: the node reports status */
  status: z.unknown().optional(),
});
export type Pod = z.output<typeof podSchema>;

export function isDeviceVolume(v: Volume): boolean {
  return v.hostPath?.type === 'CharDevice' || v.hostPath?.type === 'BlockDevice';
}

/** Validate a Pod manifest; throws ValidationError naming each bad field. */
export function parsePod(value: unknown): Pod {
  return parseOrThrow(podSchema, value, 'Pod');
}

/** Kubernetes' default pull policy: Always for :latest or untagged images, else IfNotPresent. */
export function pullPolicyOf(c: Container): 'Always' | 'IfNotPresent' | 'Never' {
  if (c.imagePullPolicy) return c.imagePullPolicy;
  const lastPart = c.image.split('/').pop() ?? c.image;
  if (c.image.includes('@')) return 'IfNotPresent';
  return !lastPart.includes(':') || lastPart.endsWith(':latest') ? 'Always' : 'IfNotPresent';
}
