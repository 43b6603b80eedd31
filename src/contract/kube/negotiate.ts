/**
 * Content negotiation as kubectl relies on it. The Accept header is a preference list; the first
 * entry we can serve wins: aggregated discovery (apidiscovery.k8s.io v2 or v2beta1, answered under
 * exactly the media type asked for), Table or PartialObjectMetadata (meta.k8s.io v1/v1beta1),
 * JSON, or YAML. Protobuf is never served; a list offering only what we cannot serve gets 406.
 */
import { notAcceptable } from './status.js';

export interface MediaRange {
  type: string;
  params: Record<string, string>;
}

export function parseAccept(header: string | undefined): MediaRange[] {
  if (!header || !header.trim()) return [{ type: '*/*', params: {} }];
  const out: { r: MediaRange; q: number; i: number }[] = [];
  header.split(',').forEach((part, i) => {
    const [type, ...ps] = part.split(';').map((s) => s.trim());
    if (!type) return;
    const params: Record<string, string> = {};
    for (const p of ps) {
      const eq = p.indexOf('=');
      if (eq > 0) params[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim().replace(/^"|"$/g, '');
    }
    const q = params.q !== undefined ? Number(params.q) : 1;
    delete params.q;
    out.push({ r: { type: type.toLowerCase(), params }, q: Number.isNaN(q) ? 0 : q, i });
  });
  return out
    .filter((x) => x.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i)
    .map((x) => x.r);
}

const isJson = (t: string): boolean => t === 'application/json' || t === 'application/*' || t === '*/*';

export type DiscoveryChoice = { kind: 'aggregated'; version: 'v2' | 'v2beta1'; contentType: string } | { kind: 'legacy' };

/** Aggregated discovery when asked for (first match in the client's order), else the legacy documents. */
export function chooseDiscovery(accept: string | undefined): DiscoveryChoice {
  for (const r of parseAccept(accept)) {
    if (r.type === 'application/json' && r.params.g === 'apidiscovery.k8s.io' && r.params.as === 'APIGroupDiscoveryList' && (r.params.v === 'v2' || r.params.v === 'v2beta1')) {
      return { kind: 'aggregated', version: r.params.v, contentType: `application/json;g=apidiscovery.k8s.io;v=${r.params.v};as=APIGroupDiscoveryList` };
    }
    if (isJson(r.type) && !r.params.as) return { kind: 'legacy' };
  }
  return { kind: 'legacy' };
}

export type ObjectChoice =
  | { kind: 'json' }
  | { kind: 'yaml' }
  | { kind: 'table'; version: 'v1' | 'v1beta1' }
  | { kind: 'partial'; version: 'v1' | 'v1beta1' };

/** The representation of a get/list/watch answer. `conversions` is false for writes (no Table then). */
export function chooseObject(accept: string | undefined, conversions = true): ObjectChoice {
  const ranges = parseAccept(accept);
  for (const r of ranges) {
    if (r.params.as) {
      if (!conversions || r.type !== 'application/json' || r.params.g !== 'meta.k8s.io' || (r.params.v !== 'v1' && r.params.v !== 'v1beta1')) continue;
      if (r.params.as === 'Table') return { kind: 'table', version: r.params.v };
      if (r.params.as === 'PartialObjectMetadata' || r.params.as === 'PartialObjectMetadataList') return { kind: 'partial', version: r.params.v };
      continue;
    }
    if (isJson(r.type)) return { kind: 'json' };
    if (r.type === 'application/yaml') return { kind: 'yaml' };
  }
  if (!conversions) return { kind: 'json' };
  throw notAcceptable(`only the following media types are accepted: application/json, application/yaml, application/json;as=Table;v=v1;g=meta.k8s.io`);
}

export const contentTypeOf = (c: ObjectChoice): string =>
  c.kind === 'json'
    ? 'application/json'
    : c.kind === 'yaml'
      ? 'application/yaml'
      : c.kind === 'table'
        ? `application/json;as=Table;v=${c.version};g=meta.k8s.io`
        : `application/json;as=PartialObjectMetadata;v=${c.version};g=meta.k8s.io`;
