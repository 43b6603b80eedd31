/**
 * Kubernetes v1 Service and discovery.k8s.io/v1 EndpointSlice as the relay serves them and the
 * node's mesh reads them (Services and the EndpointSlices of the mesh travel in every node's
 * desired document). The shapes are Kubernetes' own, strict (a field Kubernetes does not have is
 * an `unknown field`); the relay adds Kubernetes' semantic rules (src/relay/kinds/service.ts)
 * and refuses the fields edgecore does not implement. The node parses what it stores with the
 * same schemas, so a document it cannot use is refused with a field path.
 */
import { isIP } from 'node:net';
import * as z from 'zod';
import { parseOrThrow } from '../../lib/schema.js';
import { DNS_LABEL } from './common.js';

export const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const;
export const SERVICE_PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;
export type ServiceProtocol = (typeof SERVICE_PROTOCOLS)[number];

/** IANA service names: what a named targetPort / container port may be (≤15, letters, digits and -, a letter somewhere). */
export const IANA_SVC_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/;
const NO_DOUBLE_DASH = (s: string): boolean => !s.includes('--');

const ip = z.string().refine((s) => isIP(s) !== 0, 'must be a valid IP address');
/** A service port's targetPort: a number or the name of a container port (ranges and names: isTargetPort). */
export const targetPortSchema = z.union([z.number().int(), z.string()]);

/** Kubernetes' rule for a targetPort: 1–65535, or an IANA service name. */
export function isTargetPort(v: number | string): boolean {
  return typeof v === 'number' ? v >= 1 && v <= 65535 : IANA_SVC_NAME.test(v) && NO_DOUBLE_DASH(v);
}

export const servicePortSchema = z.strictObject({
  name: z.string().optional(),
  protocol: z.enum(SERVICE_PROTOCOLS).optional(),
  appProtocol: z.string().max(253).optional(),
  port: z.number().int(),
  targetPort: targetPortSchema.optional(),
  nodePort: z.number().int().min(0).max(65535).optional(),
});
export type ServicePort = z.output<typeof servicePortSchema>;

const loadBalancerIngress = z.strictObject({
  ip: ip.optional(),
  hostname: z.string().max(253).optional(),
  ipMode: z.enum(['VIP', 'Proxy']).optional(),
  ports: z.array(z.strictObject({ port: z.number().int(), protocol: z.enum(SERVICE_PROTOCOLS), error: z.string().optional() })).optional(),
});

const condition = z.strictObject({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  observedGeneration: z.number().int().optional(),
  lastTransitionTime: z.string(),
  reason: z.string(),
  message: z.string(),
});

export const serviceSpecSchema = z.strictObject({
  type: z.enum(SERVICE_TYPES).optional(),
  ports: z.array(servicePortSchema).optional(),
  selector: z.record(z.string(), z.string()).optional(),
  clusterIP: z.string().optional(),
  clusterIPs: z.array(z.string()).max(2).optional(),
  externalName: z.string().optional(),
  externalIPs: z.array(z.string()).optional(),
  sessionAffinity: z.enum(['None', 'ClientIP']).optional(),
  sessionAffinityConfig: z.strictObject({ clientIP: z.strictObject({ timeoutSeconds: z.number().int().optional() }).optional() }).optional(),
  publishNotReadyAddresses: z.boolean().optional(),
  internalTrafficPolicy: z.enum(['Cluster', 'Local']).optional(),
  externalTrafficPolicy: z.enum(['Cluster', 'Local']).optional(),
  trafficDistribution: z.string().optional(),
  ipFamilies: z.array(z.enum(['IPv4', 'IPv6'])).max(2).optional(),
  ipFamilyPolicy: z.enum(['SingleStack', 'PreferDualStack', 'RequireDualStack']).optional(),
  loadBalancerIP: z.string().optional(),
  loadBalancerSourceRanges: z.array(z.string()).optional(),
  loadBalancerClass: z.string().optional(),
  allocateLoadBalancerNodePorts: z.boolean().optional(),
  healthCheckNodePort: z.number().int().optional(),
});
export type ServiceSpec = z.output<typeof serviceSpecSchema>;

export const serviceStatusSchema = z.strictObject({
  loadBalancer: z.strictObject({ ingress: z.array(loadBalancerIngress).optional() }).optional(),
  conditions: z.array(condition).optional(),
});

const objectMeta = z.looseObject({ name: z.string().min(1), namespace: z.string().default('default') });

export const serviceSchema = z.strictObject({
  apiVersion: z.literal('v1'),
  kind: z.literal('Service'),
  metadata: objectMeta,
  spec: serviceSpecSchema.default({}),
  status: serviceStatusSchema.optional(),
});
export type Service = z.output<typeof serviceSchema>;

// ------------------------------------------------------------------ EndpointSlice

export const ADDRESS_TYPES = ['IPv4', 'IPv6', 'FQDN'] as const;

export const endpointConditionsSchema = z.strictObject({
  ready: z.boolean().optional(),
  serving: z.boolean().optional(),
  terminating: z.boolean().optional(),
});

export const endpointSchema = z.strictObject({
  addresses: z.array(z.string()).min(1, 'must contain at least 1 address').max(100, 'must have at most 100 addresses'),
  conditions: endpointConditionsSchema.optional(),
  hostname: z.string().optional(),
  targetRef: z
    .strictObject({
      kind: z.string().optional(),
      namespace: z.string().optional(),
      name: z.string().optional(),
      uid: z.string().optional(),
      apiVersion: z.string().optional(),
      resourceVersion: z.string().optional(),
      fieldPath: z.string().optional(),
    })
    .optional(),
  nodeName: z.string().optional(),
  zone: z.string().optional(),
  hints: z.strictObject({ forZones: z.array(z.strictObject({ name: z.string() })).optional(), forNodes: z.array(z.strictObject({ name: z.string() })).optional() }).optional(),
  deprecatedTopology: z.record(z.string(), z.string()).optional(),
});
export type Endpoint = z.output<typeof endpointSchema>;

export const endpointPortSchema = z.strictObject({
  name: z.string().optional(),
  protocol: z.enum(SERVICE_PROTOCOLS).optional(),
  port: z.number().int().min(0).max(65535).optional(),
  appProtocol: z.string().optional(),
});
export type EndpointPort = z.output<typeof endpointPortSchema>;

export const endpointSliceSchema = z.strictObject({
  apiVersion: z.literal('discovery.k8s.io/v1'),
  kind: z.literal('EndpointSlice'),
  metadata: objectMeta,
  addressType: z.enum(ADDRESS_TYPES),
  endpoints: z.array(endpointSchema).max(1000, 'must have at most 1000 endpoints').default([]),
  ports: z.array(endpointPortSchema).max(100, 'must have at most 100 ports').optional(),
});
export type EndpointSlice = z.output<typeof endpointSliceSchema>;

/** The label naming an EndpointSlice's Service. */
export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
/** The label naming who manages an EndpointSlice (the relay's controller, or someone else). */
export const LABEL_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
/** Kubernetes' own value, which the relay's controller uses (it does the same job). */
export const ENDPOINTSLICE_CONTROLLER = 'endpointslice-controller.k8s.io';

/** Is `s` a DNS-1035 label (a Service name: starts with a letter)? */
export function isDns1035Label(s: string): boolean {
  return s.length <= 63 && /^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(s);
}

export function isDnsLabel(s: string): boolean {
  return s.length <= 63 && DNS_LABEL.test(s);
}

/** A stored Service manifest; throws ValidationError with field paths. */
export function parseService(value: unknown): Service {
  return parseOrThrow(serviceSchema, value, 'Service');
}

export function parseEndpointSlice(value: unknown): EndpointSlice {
  return parseOrThrow(endpointSliceSchema, value, 'EndpointSlice');
}

/** A Service's ClusterIP, or undefined when it has none (headless, ExternalName). */
export function clusterIpOf(svc: Service): string | undefined {
  const ipv = svc.spec.clusterIP;
  return ipv && ipv !== 'None' && isIP(ipv) === 4 ? ipv : undefined;
}
