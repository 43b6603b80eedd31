/**
 * OpenAPI for the relay's Kubernetes API: the schemas of the served kinds (built-in ones from the
 * upstream Kubernetes document as data, device kinds derived from our zod schemas), the v3 root
 * and per-group-version documents kubectl reads for apply/create/edit/explain, schema navigation
 * for patch and apply, and unknown-field detection for fieldValidation.
 */
export { openapiV3Root, openapiV3Document, documentHash, byGroupVersion, groupVersionOf, openapiPathKey, type OpenApiDocument, type OpenApiRoot, type DocumentedResource } from './documents.js';
export { unknownFields } from './unknown.js';
export { builtinCatalog, typeInfoFor, KUBERNETES_SCHEMA_SOURCE } from './catalog.js';
export { deviceSchemas, DEVICE_SCHEMA_NAMES } from './device.js';
export { metricsSchemas, METRICS_SCHEMA_NAMES } from './metrics.js';
export { SchemaCatalog, TypeNode, type TypeInfo, type Schema, type NodeKind, type ListType, type GroupVersionKind } from './typeinfo.js';
