/**
 * OpenAPI v3 schemas for rules.kubeedge.io/v1 Rule and RuleEndpoint, structural as Kubernetes
 * publishes a CRD's schema: the fields KubeEdge's CRDs declare (maps of strings for the
 * resources and properties) with our own descriptions, plus edgecore's status fields.
 */
import type { Schema } from './typeinfo.js';

export const RULE_SCHEMA_NAMES = { Rule: 'io.kubeedge.rules.v1.Rule', RuleEndpoint: 'io.kubeedge.rules.v1.RuleEndpoint' } as const;

const OBJECT_META = '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
const stringMap = (description: string): Schema => ({ type: 'object', additionalProperties: { type: 'string' }, description });
const int = (description: string): Schema => ({ type: 'integer', format: 'int64', description });

function kind(k: 'Rule' | 'RuleEndpoint', spec: Schema, status?: Schema): Schema {
  return {
    type: 'object',
    description: k === 'Rule' ? 'Routes application messages between an endpoint and another (KubeEdge router).' : 'One end of a Rule: the cloud (rest, mqtt, storage) or a node (eventbus, servicebus).',
    properties: {
      apiVersion: { type: 'string', description: 'The versioned schema of this object: rules.kubeedge.io/v1.' },
      kind: { type: 'string', description: 'The REST resource this object represents.' },
      metadata: { allOf: [{ $ref: OBJECT_META }], description: "Standard object's metadata." },
      spec,
      ...(status ? { status } : {}),
    },
    required: ['spec'],
    'x-kubernetes-group-version-kind': [{ group: 'rules.kubeedge.io', version: 'v1', kind: k }],
  };
}

export function ruleSchemas(): Record<string, Schema> {
  return {
    [RULE_SCHEMA_NAMES.Rule]: kind(
      'Rule',
      {
        type: 'object',
        description: 'Where messages come from and where they go.',
        properties: {
          source: { type: 'string', description: 'The name of the source RuleEndpoint (same namespace).' },
          sourceResource: stringMap('The source side: rest {path}; eventbus {topic, node_name (or * for every node)}; mqtt {topic}. A topic may end in /# to cover a subtree.'),
          target: { type: 'string', description: 'The name of the target RuleEndpoint (same namespace).' },
          targetResource: stringMap('The target side: rest {resource: URL}; eventbus {topic}; servicebus {path}; mqtt {topic, format: raw|envelope}; storage {}.'),
        },
        required: ['source', 'sourceResource', 'target', 'targetResource'],
      },
      {
        type: 'object',
        description: 'Counters the relay keeps for the rule.',
        properties: {
          successMessages: int('Messages delivered to the target.'),
          failMessages: int('Failed delivery attempts (a retried message counts each time).'),
          errors: { type: 'array', items: { type: 'string' }, description: 'The latest delivery errors.' },
          messages: int('Messages the rule matched.'),
          bytes: int('Payload bytes of the matched messages.'),
          drops: int('Messages dropped: over a quota or size limit, expired, dead-lettered, or for a node that was offline.'),
          dropped: { type: 'object', additionalProperties: { type: 'integer', format: 'int64' }, description: 'Drops by reason.' },
          pending: int('Messages waiting for delivery.'),
          lastMessageTime: { type: 'string', format: 'date-time', description: 'When the rule last matched a message.' },
          conditions: { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, description: 'Ready: whether the rule routes (its endpoints exist and fit).' },
        },
      },
    ),
    [RULE_SCHEMA_NAMES.RuleEndpoint]: kind('RuleEndpoint', {
      type: 'object',
      description: 'The endpoint type and its properties.',
      properties: {
        ruleEndpointType: { type: 'string', enum: ['rest', 'eventbus', 'servicebus', 'mqtt', 'storage'], description: 'rest: cloud HTTP; eventbus: a node-local MQTT topic; servicebus: an HTTP app on the node; mqtt: a topic on the relay broker; storage: kept by the relay.' },
        properties: stringMap('servicebus: {service_port}; storage: {keep (duration), maxMessages}.'),
      },
      required: ['ruleEndpointType'],
    }),
  };
}
