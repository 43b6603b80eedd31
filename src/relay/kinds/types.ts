/**
 * What the API server needs to know about one resource, and nothing else: its names for
 * discovery, its verbs and subresources, how it is defaulted and validated, which fields a
 * fieldSelector may name, and its columns for `kubectl get`. One definition per kind in this
 * folder (pod.ts, node.ts, device.ts, ...); the API machinery (../apiserver) is generic over them.
 */
import type { Verb } from '../../contract/kube/resources.js';
import type { KubeObject, TableColumnDefinition } from '../../contract/kube/types.js';
import type { FieldIssue } from '../../core/errors.js';
import type { ObjectKey } from '../store/objects.js';

export type { Verb };

/**
 * Subresources a kind may serve. `status` is a write path; log/exec/attach/portforward are streams;
 * `messages` (Rule) reads what the relay keeps for a storage rule.
 */
export type Subresource = 'status' | 'log' | 'exec' | 'attach' | 'portforward' | 'binding' | 'scale' | 'eviction' | 'messages';

export interface KindContext {
  /** read another object (a Device is validated against its DeviceModel) */
  get(key: ObjectKey): Promise<KubeObject | undefined>;
  now(): Date;
}

/**
 * The /scale subresource (an autoscaling/v1 Scale) of a kind that has replicas: how the API reads
 * and writes its replica count (`kubectl scale`).
 */
export interface ScaleDef {
  /** spec.replicas: the desired count */
  replicas(obj: KubeObject): number;
  /** status.replicas: the observed count */
  statusReplicas(obj: KubeObject): number;
  /** the label selector of its pods, as text (the Scale's status.selector) */
  selector(obj: KubeObject): string;
  /** a copy of `obj` wanting `n` replicas */
  withReplicas(obj: KubeObject, n: number): KubeObject;
}

export interface ResourceDef {
  /** API group ('' = core) and its served version */
  group: string;
  version: string;
  kind: string;
  /** plural resource name in URLs (pods), singular (pod), short names (po) and categories (all) */
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  namespaced: boolean;
  verbs: Verb[];
  subresources: Subresource[];
  /** built-in kinds accept strategic-merge patches; custom kinds (devices.kubeedge.io) answer 415 */
  strategicMerge: boolean;
  /**
   * With a status subresource, writes to the main resource keep the stored status and writes
   * to /status keep everything but status (and metadata labels/annotations as Kubernetes does).
   */
  statusSubresource: boolean;
  /**
   * A create keeps the status it was sent, though the kind has a status subresource (Kubernetes'
   * node strategy: "Nodes allow all fields, including status, to be set on create").
   */
  statusOnCreate?: boolean;
  /**
   * On create only, before `defaults`: reset what a client may not set, as a Kubernetes strategy's
   * PrepareForCreate does (a Pod's status becomes `{phase: Pending, qosClass}` whatever was sent).
   */
  prepareForCreate?(obj: KubeObject): void;
  /** Kubernetes defaulting, in place, before validation (create and update) */
  defaults?(obj: KubeObject): void;
  /**
   * Every problem with the object, paths from its root (`spec.containers[0].image`). `old` is
   * the stored object on update (immutable fields are checked here).
   */
  validate(obj: KubeObject, old: KubeObject | undefined, ctx: KindContext): Promise<FieldIssue[]> | FieldIssue[];
  /** the values a fieldSelector can name for this object (metadata.name and metadata.namespace are added by the machinery) */
  fields?(obj: KubeObject): Record<string, string>;
  /** `kubectl get` columns (priority 1 = only with -o wide) and one row's cells; Name is the first column */
  columns: TableColumnDefinition[];
  row(obj: KubeObject, now: Date): unknown[];
  /** the OpenAPI v3 component name of this kind's schema (e.g. io.k8s.api.core.v1.Pod) */
  schemaName: string;
  /**
   * Graceful deletion: the seconds a delete waits for the object's node to confirm it is gone
   * (Pods bound to a node: spec.terminationGracePeriodSeconds ?? 30), or undefined to delete at
   * once. While waiting the object carries deletionTimestamp and deletionGracePeriodSeconds > 0;
   * the node confirms with a delete of gracePeriodSeconds 0 (as a kubelet does), and an admin
   * can force the same.
   */
  gracefulDeletion?(obj: KubeObject): number | undefined;
  /**
   * Finalizers the machinery adds when a delete begins (Namespace: `kubernetes`, removed by the
   * namespace controller once the namespace is empty).
   */
  deletionFinalizers?: string[];
  /** present when the kind serves /scale (subresources then lists 'scale') */
  scale?: ScaleDef;
}
