/**
 * Every kind the relay's API serves, one ResourceDef each: core/v1 Namespace, ConfigMap, Secret,
 * Event, Pod, Node, Service, Endpoints; discovery.k8s.io/v1 EndpointSlice; apps/v1 Deployment, ReplicaSet, DaemonSet; batch/v1 Job, CronJob;
 * coordination.k8s.io/v1 Lease; devices.kubeedge.io/v1beta1 DeviceModel and Device; and rules.kubeedge.io/v1 Rule and RuleEndpoint.
 */
import { cronJobDef } from './cronjob.js';
import { daemonSetDef } from './daemonset.js';
import { deploymentDef } from './deployment.js';
import { jobDef } from './job.js';
import { leaseDef } from './lease.js';
import { replicaSetDef } from './replicaset.js';
import { configMapDef } from './configmap.js';
import { deviceDef, deviceModelDef } from './device.js';
import { endpointsDef, endpointSliceDef } from './endpointslice.js';
import { eventDef } from './event.js';
import { namespaceDef } from './namespace.js';
import { nodeDef } from './node.js';
import { podDef, type PodKindOptions } from './pod.js';
import { ruleDef, ruleEndpointDef } from './rule.js';
import { secretDef } from './secret.js';
import { serviceDef } from './service.js';
import type { ResourceDef } from './types.js';

export function builtinKinds(pod?: PodKindOptions): ResourceDef[] {
  return [namespaceDef, nodeDef, podDef(pod), configMapDef, secretDef, eventDef, serviceDef, endpointsDef, deploymentDef, replicaSetDef, daemonSetDef, jobDef, cronJobDef, endpointSliceDef, leaseDef, deviceModelDef, deviceDef, ruleEndpointDef, ruleDef];
}
