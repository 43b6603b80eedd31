/**
 * Who is asking, and what they may do. Identities: `admin` (everything), `read-only`
 * (get/list/watch of everything but Secrets, as Kubernetes' `view` role), `node:<name>` (its
 * own Node, the status of objects bound to it, confirming its gracefully deleted objects are gone, Events), and
 * `controller:<name>` (in-process controllers: everything). Decisions that depend on the object
 * (a node writing a pod's status) come back as a check the API core runs on the object.
 */
import type { KubeObject } from '../../contract/kube/types.js';
import type { ResourceDef, Verb } from '../kinds/types.js';

export type Identity =
  | { kind: 'admin'; user: string }
  | { kind: 'read-only'; user: string }
  | { kind: 'node'; user: string; node: string }
  | { kind: 'controller'; user: string; name: string };

export const ADMIN: Identity = { kind: 'admin', user: 'admin' };
export const READ_ONLY: Identity = { kind: 'read-only', user: 'read-only' };
export const nodeIdentity = (node: string): Identity => ({ kind: 'node', user: `node:${node}`, node });
export const controllerIdentity = (name: string): Identity => ({ kind: 'controller', user: `controller:${name}`, name });

/** A request's authorization attributes (verb as in RBAC: exec/attach/portforward are `create`). */
export interface Attributes {
  verb: Verb;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export type Verdict = { allowed: true } | { allowed: false } | { allowed: 'if'; check: (obj: KubeObject) => boolean };

const READ: readonly Verb[] = ['get', 'list', 'watch'];
const ALLOW: Verdict = { allowed: true };
const DENY: Verdict = { allowed: false };

/** The node an object is bound to (spec.nodeName as its kind exposes it to field selectors). */
export function boundNode(def: ResourceDef, obj: KubeObject): string | undefined {
  if (def.group === '' && def.plural === 'nodes') return obj.metadata.name;
  return def.fields?.(obj)['spec.nodeName'] || undefined;
}

export function authorize(id: Identity, a: Attributes, def: ResourceDef | undefined): Verdict {
  switch (id.kind) {
    case 'admin':
    case 'controller':
      return ALLOW;
    case 'read-only':
      return READ.includes(a.verb) && !(a.group === '' && a.resource === 'secrets') && !a.subresource?.match(/^(exec|attach|portforward|proxy)$/) ? ALLOW : DENY;
    case 'node':
      return nodePolicy(id.node, a, def);
  }
}

function nodePolicy(node: string, a: Attributes, def: ResourceDef | undefined): Verdict {
  const core = a.group === '';
  if (core && a.resource === 'secrets') return DENY;
  if (!a.subresource && READ.includes(a.verb)) return ALLOW;
  if (core && a.resource === 'events' && ['create', 'update', 'patch'].includes(a.verb)) return ALLOW;
  if (!def) return DENY;
  const mine = (o: KubeObject): boolean => boundNode(def, o) === node;
  if (core && a.resource === 'nodes' && !a.subresource && ['create', 'update', 'patch'].includes(a.verb)) return { allowed: 'if', check: mine };
  if (a.subresource === 'status' && ['get', 'update', 'patch'].includes(a.verb)) return { allowed: 'if', check: mine };
  // the node confirms that a gracefully deleted object of its own is gone (a kubelet's final delete)
  if (def.gracefulDeletion && !a.subresource && a.verb === 'delete') return { allowed: 'if', check: mine };
  return DENY;
}

/** kube-apiserver's wording: `pods "x" is forbidden: User "read-only" cannot create resource "pods" in API group "" in the namespace "default"`. */
export function forbiddenMessage(id: Identity, a: Attributes): string {
  const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const what = a.name ? `${a.resource}${a.group ? `.${a.group}` : ''} "${a.name}"` : `${a.resource}${a.group ? `.${a.group}` : ''}`;
  const where = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
  return `${what} is forbidden: User "${id.user}" cannot ${a.verb} resource "${res}" in API group "${a.group}" ${where}`;
}
