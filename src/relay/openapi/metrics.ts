/**
 * OpenAPI v3 schemas for metrics.k8s.io/v1beta1 NodeMetrics and PodMetrics (what `kubectl top`
 * reads, served by src/relay/apiserver/http/metrics-api.ts). The upstream Kubernetes document
 * has none (metrics-server publishes them as an aggregated API), so they are written here with
 * metrics-server's component names and field shapes, in our own words; metadata, timestamps
 * and quantities reference the built-in schemas.
 */
import type { Schema } from './typeinfo.js';

export const METRICS_SCHEMA_NAMES = {
  NodeMetrics: 'io.k8s.metrics.pkg.apis.metrics.v1beta1.NodeMetrics',
  PodMetrics: 'io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetrics',
  ContainerMetrics: 'io.k8s.metrics.pkg.apis.metrics.v1beta1.ContainerMetrics',
} as const;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
const TIME = 'io.k8s.apimachinery.pkg.apis.meta.v1.Time';
const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';

const common = (what: string): Record<string, Schema> => ({
  apiVersion: { type: 'string', description: 'The versioned schema of this object: metrics.k8s.io/v1beta1.' },
  kind: { type: 'string', description: 'The REST resource this object represents.' },
  metadata: { allOf: [ref(META)], default: {}, description: `The ${what}'s name, namespace and labels; created when read (metrics are not stored objects).` },
  timestamp: { allOf: [ref(TIME)], description: 'The end of the window the usage was measured over (the node sampled it then).' },
  window: { type: 'string', description: 'How long the window the usage was measured over was, as a duration (e.g. 10s).' },
});

const usage = (what: string): Schema => ({
  type: 'object',
  additionalProperties: ref(QUANTITY),
  description: `Resources the ${what} used over the window: cpu (cores, in nanocores) and memory (working set, in KiB).`,
});

const gvk = (kind: string) => [{ group: 'metrics.k8s.io', version: 'v1beta1', kind }];

/** The component schemas, keyed by their names. */
export function metricsSchemas(): Record<string, Schema> {
  return {
    [METRICS_SCHEMA_NAMES.NodeMetrics]: {
      type: 'object',
      description: "A node's resource usage, as its edge daemon last reported it.",
      required: ['timestamp', 'window', 'usage'],
      properties: { ...common('node'), usage: usage('node') },
      'x-kubernetes-group-version-kind': gvk('NodeMetrics'),
    },
    [METRICS_SCHEMA_NAMES.PodMetrics]: {
      type: 'object',
      description: "A pod's resource usage per container, as the node running it last reported it.",
      required: ['timestamp', 'window', 'containers'],
      properties: {
        ...common('pod'),
        containers: { type: 'array', items: { allOf: [ref(METRICS_SCHEMA_NAMES.ContainerMetrics)], default: {} }, description: "Each running container's usage." },
      },
      'x-kubernetes-group-version-kind': gvk('PodMetrics'),
    },
    [METRICS_SCHEMA_NAMES.ContainerMetrics]: {
      type: 'object',
      description: "One container's resource usage.",
      required: ['name', 'usage'],
      properties: { name: { type: 'string', default: '', description: 'The container name, as in the pod spec.' }, usage: usage('container') },
    },
  };
}
