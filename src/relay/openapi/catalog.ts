/**
 * The schemas the relay serves: the built-in kinds from the upstream Kubernetes OpenAPI document
 * (data/kubernetes.json, pruned by scripts/openapi/prune-k8s.mjs; Apache-2.0, The Kubernetes
 * Authors), the device kinds derived from our zod schemas, and metrics.k8s.io's two kinds. Static data: one immutable catalog
 * per process is built on first use.
 */
import kubernetes from './data/kubernetes.json' with { type: 'json' };
import { deviceSchemas } from './device.js';
import { metricsSchemas } from './metrics.js';
import { ruleSchemas } from './rule.js';
import { SchemaCatalog, type Schema, type TypeInfo } from './typeinfo.js';

/** The Kubernetes release the built-in schemas come from. */
export const KUBERNETES_SCHEMA_SOURCE: string = kubernetes.source;

let builtin: SchemaCatalog | undefined;

/** Built-in and device schemas together (immutable). */
export function builtinCatalog(): SchemaCatalog {
  builtin ??= new SchemaCatalog(Object.freeze({ ...(kubernetes.schemas as unknown as Record<string, Schema>), ...deviceSchemas(), ...ruleSchemas(), ...metricsSchemas() }));
  return builtin;
}

/** Schema navigation for a served kind, or undefined for a kind we have no schema for. */
export function typeInfoFor(group: string, version: string, kind: string): TypeInfo | undefined {
  return builtinCatalog().typeInfoFor(group, version, kind);
}
