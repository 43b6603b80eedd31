/**
 * The MetaServer's HTTP side: the Kubernetes wire for what the node holds — discovery
 * (aggregated and legacy), get, list (label and field selectors, limit/continue) and watch
 * (resourceVersion resume, bookmarks, timeoutSeconds), as JSON, YAML, Table or metadata —
 * read-only. Over TCP every request carries a bearer token (a pod's, or the admin token); a
 * pod reads its own namespace and the Node. The unix socket is for the host's tools: its file
 * mode is the access control.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { stringify as stringifyYaml } from 'yaml';
import { chooseDiscovery, chooseObject, contentTypeOf } from '../../../contract/kube/negotiate.js';
import { requestInfo } from '../../../contract/kube/request.js';
import { aggregatedDiscovery, apiGroupDoc, apiGroupList, apiResourceList, apiVersionOf, apiVersions, includeObjectOf, toPartial, toPartialList, toTable } from '../../../contract/kube/resources.js';
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector, SelectorError } from '../../../contract/kube/selectors.js';
import { badRequest, forbidden, isStatusError, methodNotAllowed, notFound, pathNotFound, StatusError, unauthorized, failure, internalError } from '../../../contract/kube/status.js';
import type { KubeObject, Status } from '../../../contract/kube/types.js';
import { parseResourceVersion, type Matcher } from '../../../contract/kube/watch.js';
import type { ResourceStore } from '../../../store/resources.js';
import type { NodeResource } from './kinds.js';
import { toKube } from './objects.js';
import type { Caller, TokenIssuer } from './tokens.js';
import type { WatchHub } from './watch.js';

export const KUBE_MAJOR = '1';
export const KUBE_MINOR = '32';

export interface ApiDeps {
  resources: ResourceStore;
  defs: readonly NodeResource[];
  tokens: TokenIssuer;
  watches: WatchHub;
  now: () => Date;
  version: string;
  /** counted per verb and HTTP code (metrics) */
  onRequest?: (verb: string, code: number) => void;
}

export type Via = 'tcp' | 'unix';

function send(res: ServerResponse, code: number, body: unknown, contentType = 'application/json', yaml = false): void {
  const text = yaml ? stringifyYaml(body) : typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(code, { 'content-type': contentType, 'content-length': String(Buffer.byteLength(text)), 'cache-control': 'no-cache, private' });
  res.end(text);
}

const sendStatus = (res: ServerResponse, s: Status): void => (res.headersSent ? void res.end() : send(res, s.code, s));

interface ContinueToken {
  ns: string;
  name: string;
}

function decodeContinue(s: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as ContinueToken;
    if (typeof t.ns === 'string' && typeof t.name === 'string') return t;
  } catch {
    /* below */
  }
  throw badRequest('continue key is not valid: the token was not issued by this server');
}

export class MetaApi {
  constructor(private readonly d: ApiDeps) {}

  /** One request; never throws (errors are Status answers). */
  async handle(req: IncomingMessage, res: ServerResponse, via: Via): Promise<void> {
    let verb = 'other';
    try {
      verb = this.route(req, res, via) ?? verb;
    } catch (e) {
      const s = isStatusError(e) ? e.status : internalError(e instanceof Error ? e.message : String(e)).status;
      sendStatus(res, s);
    } finally {
      this.d.onRequest?.(verb, res.statusCode);
    }
  }

  private caller(req: IncomingMessage, via: Via): Caller {
    if (via === 'unix') return { kind: 'admin' };
    const h = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(h);
    const c = m ? this.d.tokens.verify(m[1]!) : undefined;
    if (!c) throw unauthorized();
    if (c.kind === 'pod') {
      // a pod's token is good while that pod (same uid) is on the node
      const pod = this.d.resources.get({ kind: 'Pod', namespace: c.id.namespace, name: c.id.pod });
      if (!pod || pod.uid !== c.id.uid) throw unauthorized();
    }
    return c;
  }

  private route(req: IncomingMessage, res: ServerResponse, via: Via): string | undefined {
    const url = new URL(req.url ?? '/', 'https://metaserver');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (path === '/healthz' || path === '/livez' || path === '/readyz') {
      send(res, 200, 'ok', 'text/plain; charset=utf-8');
      return 'health';
    }
    const caller = this.caller(req, via);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      throw methodNotAllowed(`the node's MetaServer is read-only: ${req.method} is served by the relay's API`);
    }
    if (path === '/version') {
      send(res, 200, { major: KUBE_MAJOR, minor: KUBE_MINOR, gitVersion: `v${KUBE_MAJOR}.${KUBE_MINOR}.0+edgecore-${this.d.version}`, gitCommit: '', gitTreeState: 'clean', buildDate: '1970-01-01T00:00:00Z', goVersion: `node${process.versions.node}`, compiler: 'node', platform: `linux/${process.arch === 'x64' ? 'amd64' : process.arch}` });
      return 'version';
    }
    const info = requestInfo(req.method, path, url.searchParams);
    if (info.type === 'other') throw pathNotFound();
    if (info.type === 'discovery') {
      this.discovery(req, res, info);
      return 'discovery';
    }
    const def = this.d.defs.find((d) => d.group === info.group && d.version === info.version && d.plural === info.resource);
    if (!def || info.subresource) throw pathNotFound();
    const namespace = def.namespaced ? info.namespace : undefined;
    this.authorize(caller, def, namespace, info.verb);
    const q = url.searchParams;
    const match = this.matcher(def, q, info.name);
    if (info.verb === 'get') this.get(req, res, def, namespace ?? '', info.name!, q);
    else if (info.verb === 'list') this.list(req, res, def, namespace, match, q);
    else if (info.verb === 'watch') this.watch(req, res, def, namespace, match, q);
    else throw methodNotAllowed(`${info.verb} is not served`);
    return info.verb;
  }

  private authorize(c: Caller, def: NodeResource, namespace: string | undefined, verb: string): void {
    if (c.kind === 'admin' || !def.namespaced) return;
    if (namespace !== c.id.namespace) {
      const where = namespace === undefined ? 'at the cluster scope' : `in the namespace "${namespace}"`;
      throw forbidden(`${def.plural}${def.group ? `.${def.group}` : ''} is forbidden: User "system:serviceaccount:${c.id.namespace}:${c.id.serviceAccount}" cannot ${verb} resource "${def.plural}" in API group "${def.group}" ${where}`, { group: def.group, resource: def.plural });
    }
  }

  private matcher(def: NodeResource, q: URLSearchParams, name: string | undefined): Matcher {
    let labels;
    let fields;
    try {
      labels = parseLabelSelector(q.get('labelSelector'));
      fields = parseFieldSelector(q.get('fieldSelector'));
    } catch (e) {
      if (e instanceof SelectorError) throw badRequest(e.message);
      throw e;
    }
    const fieldsOf = (o: KubeObject): Record<string, string> => ({ ...(def.fields?.(o) ?? {}), 'metadata.name': o.metadata.name ?? '', 'metadata.namespace': o.metadata.namespace ?? '' });
    const known = Object.keys(fieldsOf({ apiVersion: '', kind: def.kind, metadata: {} }));
    for (const f of fields) if (!known.includes(f.field)) throw badRequest(`field label not supported: ${f.field}`);
    // a watch on one object's URL is a watch with metadata.name=NAME
    if (name !== undefined) fields.push({ field: 'metadata.name', op: '=', value: name });
    if (!labels.length && !fields.length) return () => true;
    return (o) => matchLabels(labels, o.metadata.labels) && matchFields(fields, fieldsOf(o));
  }

  private discovery(req: IncomingMessage, res: ServerResponse, info: { prefix: 'api' | 'apis'; group?: string; version?: string }): void {
    const { defs } = this.d;
    if (info.group === undefined && info.version === undefined) {
      const c = chooseDiscovery(req.headers.accept);
      if (c.kind === 'aggregated') return send(res, 200, aggregatedDiscovery(defs, info.prefix, c.version), c.contentType);
      return send(res, 200, info.prefix === 'api' ? apiVersions(req.socket.localAddress ?? '127.0.0.1') : apiGroupList(defs));
    }
    const doc = info.version === undefined ? apiGroupDoc(defs, info.group ?? '') : apiResourceList(defs, info.group ?? '', info.version);
    if (!doc) throw pathNotFound();
    send(res, 200, doc);
  }

  private get(req: IncomingMessage, res: ServerResponse, def: NodeResource, namespace: string, name: string, q: URLSearchParams): void {
    const c = chooseObject(req.headers.accept);
    const r = this.d.resources.get({ kind: def.storeKind, namespace, name });
    if (!r) throw notFound({ group: def.group, resource: def.plural, name });
    const o = toKube(def, r);
    if (c.kind === 'table') return send(res, 200, toTable(def, [o], { now: this.d.now(), include: includeObjectOf(q.get('includeObject')), version: c.version, resourceVersion: o.metadata.resourceVersion! }), contentTypeOf(c));
    if (c.kind === 'partial') return send(res, 200, toPartial(o, c.version), contentTypeOf(c));
    send(res, 200, o, contentTypeOf(c), c.kind === 'yaml');
  }

  private list(req: IncomingMessage, res: ServerResponse, def: NodeResource, namespace: string | undefined, match: Matcher, q: URLSearchParams): void {
    const c = chooseObject(req.headers.accept);
    const limitText = q.get('limit');
    const limit = limitText ? Number(limitText) : 0;
    if (!Number.isInteger(limit) || limit < 0) throw badRequest(`limit: Invalid value: "${limitText}": must be a non-negative integer`);
    const after = q.get('continue') ? decodeContinue(q.get('continue')!) : undefined;
    const rv = String(this.d.resources.revision());
    const items: KubeObject[] = [];
    let more: ContinueToken | undefined;
    for (const r of this.d.resources.list(def.storeKind, namespace)) {
      if (after && (r.namespace < after.ns || (r.namespace === after.ns && r.name <= after.name))) continue;
      const o = toKube(def, r);
      if (!match(o)) continue;
      if (limit && items.length === limit) {
        more = { ns: items[items.length - 1]!.metadata.namespace ?? '', name: items[items.length - 1]!.metadata.name! };
        break;
      }
      items.push(o);
    }
    const cont = more ? Buffer.from(JSON.stringify(more)).toString('base64url') : undefined;
    if (c.kind === 'table') return send(res, 200, toTable(def, items, { now: this.d.now(), include: includeObjectOf(q.get('includeObject')), version: c.version, resourceVersion: rv, ...(cont ? { continue: cont } : {}) }), contentTypeOf(c));
    if (c.kind === 'partial') return send(res, 200, toPartialList(items, c.version, rv), contentTypeOf(c));
    send(res, 200, { apiVersion: apiVersionOf(def), kind: `${def.kind}List`, metadata: { resourceVersion: rv, ...(cont ? { continue: cont } : {}) }, items }, contentTypeOf(c), c.kind === 'yaml');
  }

  private watch(req: IncomingMessage, res: ServerResponse, def: NodeResource, namespace: string | undefined, match: Matcher, q: URLSearchParams): void {
    const choice = chooseObject(req.headers.accept);
    const from = parseResourceVersion(q.get('resourceVersion'));
    if (this.d.watches.full()) throw new StatusError(failure(429, 'TooManyRequests', 'too many watches on this node; retry later', { retryAfterSeconds: 1 }));
    const timeout = Number(q.get('timeoutSeconds') ?? '');
    this.d.watches.open(
      {
        def,
        ...(namespace !== undefined ? { namespace } : {}),
        match,
        ...(from !== undefined ? { from } : {}),
        choice,
        include: includeObjectOf(q.get('includeObject')),
        bookmarks: q.get('allowWatchBookmarks') === 'true' || q.get('allowWatchBookmarks') === '1',
        ...(Number.isFinite(timeout) && timeout > 0 ? { timeoutSeconds: timeout } : {}),
      },
      res,
    );
  }
}
