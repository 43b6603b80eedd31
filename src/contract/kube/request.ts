/**
 * A request URL read the way kube-apiserver reads it (its RequestInfo): discovery paths, or a
 * resource path with group, version, namespace, resource, name and subresource, and the verb
 * from the method (pure). Segments are percent-decoded; a malformed escape is a 400, not a crash.
 */
import type { Verb } from './resources.js';
import { badRequest } from './status.js';

export type RequestInfo =
  | { type: 'other'; path: string }
  | { type: 'discovery'; prefix: 'api' | 'apis'; group?: string; version?: string }
  | {
      type: 'resource';
      verb: Verb;
      group: string;
      version: string;
      resource: string;
      namespace?: string;
      name?: string;
      subresource?: string;
    };

const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

function decode(seg: string): string {
  try {
    return decodeURIComponent(seg);
  } catch {
    throw badRequest(`malformed percent-encoding in the URL path segment "${seg}"`);
  }
}

function verbOf(method: string, hasName: boolean, watch: boolean): Verb | undefined {
  switch (method) {
    case 'GET':
    case 'HEAD':
      return watch ? 'watch' : hasName ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return hasName ? 'delete' : 'deletecollection';
    default:
      return undefined;
  }
}

export function requestInfo(method: string, pathname: string, query: URLSearchParams): RequestInfo {
  const parts = pathname.split('/').filter(Boolean).map(decode);
  const prefix = parts[0];
  if (prefix !== 'api' && prefix !== 'apis') return { type: 'other', path: pathname };
  let rest: string[];
  let group = '';
  let version: string | undefined;
  if (prefix === 'api') {
    version = parts[1];
    rest = parts.slice(2);
    if (!version) return { type: 'discovery', prefix };
    if (!rest.length) return { type: 'discovery', prefix, group: '', version };
  } else {
    group = parts[1] ?? '';
    version = parts[2];
    rest = parts.slice(3);
    if (!group) return { type: 'discovery', prefix };
    if (!version) return { type: 'discovery', prefix, group };
    if (!rest.length) return { type: 'discovery', prefix, group, version };
  }
  let watch = query.get('watch') === 'true' || query.get('watch') === '1';
  if (rest[0] === 'watch') {
    // the deprecated /watch/ prefix
    watch = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 2) {
    namespace = rest[1];
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2]!)) rest = rest.slice(2);
    else {
      // /namespaces/NAME[/status]: the namespace object itself
      namespace = undefined;
    }
  }
  const [resource, name, subresource, ...extra] = rest;
  if (!resource || extra.length) return { type: 'other', path: pathname };
  const verb = verbOf(method, name !== undefined, watch);
  if (!verb) return { type: 'other', path: pathname };
  return {
    type: 'resource',
    verb,
    group,
    version,
    resource,
    ...(namespace !== undefined ? { namespace } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(subresource !== undefined ? { subresource } : {}),
  };
}
