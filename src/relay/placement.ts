/**
 * Which node(s) an object goes to. Node-bound kinds (Pod, Device) need one node: the API's
 * `node` parameter, else `spec.nodeName`, else the only joined node. Other kinds (ConfigMap,
 * Secret, DeviceModel) go to every node ('*') unless a node is named.
 */
import type { FieldIssue } from '../core/errors.js';
import { ValidationError } from '../core/errors.js';
import { kindInfo, nodeNameSchema, type Manifest } from '../contract/resources/kinds.js';

export const ALL_NODES = '*';

export function placeObject(m: Manifest, nodeParam: string | undefined, joined: readonly string[]): string {
  const issues: FieldIssue[] = [];
  const spec = (m.spec ?? {}) as { nodeName?: unknown };
  const fromSpec = typeof spec.nodeName === 'string' && spec.nodeName ? spec.nodeName : undefined;
  const node = nodeParam || fromSpec;
  if (node) {
    if (!nodeNameSchema.safeParse(node).success) issues.push({ path: nodeParam ? 'node' : 'spec.nodeName', reason: 'must be a DNS label' });
    if (nodeParam && fromSpec && nodeParam !== fromSpec) issues.push({ path: 'spec.nodeName', reason: `is "${fromSpec}" but the object was sent to node "${nodeParam}"` });
    if (issues.length) throw new ValidationError(issues, `${m.kind} ${m.metadata.name}`);
    return node;
  }
  if (!kindInfo(m.kind)?.nodeBound) return ALL_NODES;
  if (joined.length === 1) return joined[0]!;
  throw new ValidationError(
    [{ path: 'spec.nodeName', reason: joined.length === 0 ? 'required: no node has joined yet' : 'required: several nodes have joined (or pass --node)' }],
    `${m.kind} ${m.metadata.name}`,
  );
}
