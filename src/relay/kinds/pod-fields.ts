/**
 * Field names of Kubernetes' Pod API (PodSpec and the types below it, v1.33) that edgecore's pod
 * schema does not take. The API may drop a truly unknown field with a warning (fieldValidation
 * Warn, as Kubernetes does), but dropping one of these would silently change what runs — a
 * `runAsNonRoot: true` gone, a container running as root — so they are refused whatever the
 * client asked: "not supported by edgecore".
 */
import type { FieldIssue } from '../../core/errors.js';

const NAMES = [
  // PodSpec
  'activeDeadlineSeconds ephemeralContainers hostAliases hostIPC hostPID hostUsers os overhead',
  'readinessGates resourceClaims resources runtimeClassName schedulingGates setHostnameAsFQDN shareProcessNamespace',
  'subdomain topologySpreadConstraints podAffinity podAntiAffinity',
  // Container, probes, lifecycle, security contexts
  'lifecycle postStart preStop stopSignal resizePolicy restartPolicy stdinOnce volumeDevices grpc terminationGracePeriodSeconds',
  'allowPrivilegeEscalation appArmorProfile capabilities procMount readOnlyRootFilesystem runAsNonRoot seLinuxOptions seccompProfile',
  'windowsOptions fsGroup fsGroupChangePolicy seLinuxChangePolicy supplementalGroups supplementalGroupsPolicy sysctls runAsUser runAsGroup',
  'claims mountPropagation recursiveReadOnly subPathExpr fileKeyRef',
  // volume sources
  'awsElasticBlockStore azureDisk azureFile cephfs cinder csi ephemeral fc flexVolume flocker gcePersistentDisk gitRepo',
  'glusterfs image iscsi nfs persistentVolumeClaim photonPersistentDisk portworxVolume projected quobyte rbd scaleIO storageos vsphereVolume',
];
const KUBERNETES_POD_FIELDS = new Set(NAMES.join(' ').split(' '));

export const NOT_SUPPORTED = 'not supported by edgecore: the node could not honour it, so it is refused rather than dropped';

/**
 * Turn `unknown field` issues under spec into "not supported" where the field is one of
 * Kubernetes' own (or a resource name other than cpu/memory in limits/requests).
 */
export function markUnsupported(issues: FieldIssue[]): FieldIssue[] {
  return issues.map((i) => {
    if (i.reason !== 'unknown field' || !i.path.startsWith('spec.')) return i;
    const last = i.path.slice(i.path.lastIndexOf('.') + 1);
    const resource = /\.resources\.(limits|requests)\./.test(i.path);
    return resource || KUBERNETES_POD_FIELDS.has(last) ? { path: i.path, reason: NOT_SUPPORTED } : i;
  });
}
