/**
 * Which objects a list or watch returns: label and field selectors compiled against a kind
 * (metadata.name and metadata.namespace for every kind, plus the kind's own `fields()`), and the
 * continue token of a paged list.
 */
import { badRequest } from '../../contract/kube/status.js';
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector, SelectorError } from '../../contract/kube/selectors.js';
import type { KubeObject } from '../../contract/kube/types.js';
import type { ResourceDef } from '../kinds/types.js';

export type Matcher = (o: KubeObject) => boolean;

export function fieldsOf(def: ResourceDef, o: KubeObject): Record<string, string> {
  return { ...(def.fields?.(o) ?? {}), 'metadata.name': o.metadata.name ?? '', 'metadata.namespace': o.metadata.namespace ?? '' };
}

/** The field names a kind's field selectors may use. */
export function selectableFields(def: ResourceDef): string[] {
  let own: string[] = [];
  try {
    own = Object.keys(def.fields?.({ apiVersion: '', kind: def.kind, metadata: {} }) ?? {});
  } catch {
    own = [];
  }
  return ['metadata.name', 'metadata.namespace', ...own];
}

export function compileSelectors(def: ResourceDef, labelSelector: string | undefined, fieldSelector: string | undefined): Matcher {
  let labels;
  let fields;
  try {
    labels = parseLabelSelector(labelSelector);
    fields = parseFieldSelector(fieldSelector);
  } catch (e) {
    if (e instanceof SelectorError) throw badRequest(e.message);
    throw e;
  }
  if (fields.length) {
    const known = selectableFields(def);
    for (const f of fields) {
      if (!known.includes(f.field)) throw badRequest(`field label not supported: ${f.field} (${def.plural} supports ${known.map((k) => `"${k}"`).join(', ')})`);
    }
  }
  if (!labels.length && !fields.length) return () => true;
  return (o) => matchLabels(labels, o.metadata.labels) && (!fields.length || matchFields(fields, fieldsOf(def, o)));
}

export interface ContinueToken {
  /** the revision of the first page */
  rv: number;
  namespace: string;
  name: string;
}

export function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify(t)).toString('base64url');
}

export function decodeContinue(s: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as ContinueToken;
    if (typeof t.rv === 'number' && typeof t.namespace === 'string' && typeof t.name === 'string') return t;
  } catch {
    /* below */
  }
  throw badRequest('continue key is not valid: the token was not issued by this server');
}

/** Items after the token's position (the store lists in namespace, name order). */
export function after(items: KubeObject[], t: ContinueToken): KubeObject[] {
  return items.filter((o) => {
    const ns = o.metadata.namespace ?? '';
    const name = o.metadata.name ?? '';
    return ns > t.namespace || (ns === t.namespace && name > t.name);
  });
}
