/**
 * A FAKE Kubernetes API server, only for driving the real kubectl against the relay's patch and
 * OpenAPI modules before the real API machinery (branch kube-api) exists: discovery, /version,
 * the OpenAPI v3 documents from src/relay/openapi, and GET/POST/PUT/PATCH of named objects kept
 * in a Map, every write going through src/relay/patch. It records each request so a test can
 * assert what kubectl sent. Plain HTTP on 127.0.0.1 with an ephemeral port; no auth.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubeObject } from '../../../src/contract/kube/types.js';
import type { ResourceDef } from '../../../src/relay/kinds/types.js';
import { byGroupVersion, groupVersionOf, openapiPathKey, openapiV3Document, openapiV3Root, unknownFields } from '../../../src/relay/openapi/index.js';
import { isApplyConflictError, isPatchError, jsonPatch, mergePatch, serverSideApply, strategicMergePatch, trackUpdate, typeInfoFor } from '../../../src/relay/patch/index.js';

export interface Recorded {
  method: string;
  url: string;
  contentType?: string;
  body?: unknown;
}

export function resource(group: string, version: string, kind: string, plural: string, opts: Partial<ResourceDef> = {}): ResourceDef {
  return {
    group, version, kind, plural, singular: kind.toLowerCase(), shortNames: [], categories: [], namespaced: true,
    verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'], subresources: [], strategicMerge: group !== 'devices.kubeedge.io',
    statusSubresource: false, validate: () => [], columns: [], row: () => [], schemaName: '', ...opts,
  };
}

const status = (code: number, reason: string, message: string, causes?: unknown[]) => ({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code, ...(causes ? { details: { causes } } : {}) });

export class FakeApiServer {
  readonly requests: Recorded[] = [];
  readonly objects = new Map<string, KubeObject>();
  private server: Server | undefined;
  private rv = 1;
  private readonly gvs: Record<string, ResourceDef[]>;

  constructor(private readonly resources: ResourceDef[], private readonly now: () => Date = () => new Date()) {
    this.gvs = byGroupVersion(resources);
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private send(res: ServerResponse, code: number, body: unknown, type = 'application/json'): void {
    res.writeHead(code, { 'Content-Type': type });
    res.end(JSON.stringify(body));
  }

  private discovery(core: boolean, accept: string) {
    const v = accept.includes('v=v2;') ? 'v2' : 'v2beta1';
    const groups = new Map<string, ResourceDef[]>();
    for (const r of this.resources) if ((r.group === '') === core) groups.set(r.group, [...(groups.get(r.group) ?? []), r]);
    return {
      type: `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList`,
      body: {
        kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${v}`, metadata: {},
        items: [...groups].map(([g, rs]) => ({
          metadata: { name: g },
          versions: [{ version: rs[0]!.version, freshness: 'Current', resources: rs.map((r) => ({ resource: r.plural, singularResource: r.singular, scope: r.namespaced ? 'Namespaced' : 'Cluster', responseKind: { group: r.group, version: r.version, kind: r.kind }, verbs: r.verbs, shortNames: r.shortNames })) }],
        })),
      },
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://x');
    const contentType = req.headers['content-type'];
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = raw;
    }
    this.requests.push({ method: req.method ?? '', url: req.url ?? '', ...(contentType ? { contentType } : {}), ...(raw ? { body } : {}) });
    const p = url.pathname;
    if (p === '/version') return this.send(res, 200, { major: '1', minor: '32', gitVersion: 'v1.32.0', platform: 'linux/amd64' });
    if (p === '/api' || p === '/apis') {
      const d = this.discovery(p === '/api', String(req.headers.accept ?? ''));
      return this.send(res, 200, d.body, d.type);
    }
    if (p === '/openapi/v3') return this.send(res, 200, openapiV3Root(this.gvs));
    if (p.startsWith('/openapi/v3/')) {
      const gv = Object.keys(this.gvs).find((g) => `/openapi/v3/${openapiPathKey(g)}` === p);
      return gv ? this.send(res, 200, openapiV3Document(gv, this.gvs[gv]!)) : this.send(res, 404, status(404, 'NotFound', 'not found'));
    }
    const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+))?$/.exec(p);
    const r = m && this.resources.find((x) => groupVersionOf(x) === (m[1] ?? `${m[2]}/${m[3]}`) && x.plural === m[5]);
    if (!m || !r) return this.send(res, 404, status(404, 'NotFound', `the server could not find the requested resource (${p})`));
    const ns = m[4]!;
    const name = m[6] ?? (body as KubeObject | undefined)?.metadata?.name ?? '';
    const key = `${r.plural}/${ns}/${name}`;
    const live = this.objects.get(key);
    const gv = groupVersionOf(r);
    const typeInfo = typeInfoFor(r.group, r.version, r.kind);
    const manager = url.searchParams.get('fieldManager') ?? 'unknown';
    const notFound = () => this.send(res, 404, status(404, 'NotFound', `${r.plural} "${name}" not found`));
    try {
      let next: KubeObject;
      if (req.method === 'GET') return live ? this.send(res, 200, live) : notFound();
      if (req.method === 'POST') {
        if (live) return this.send(res, 409, status(409, 'AlreadyExists', `${r.plural} "${name}" already exists`));
        next = body as KubeObject;
      } else if (req.method === 'PUT') {
        if (!live) return notFound();
        next = body as KubeObject;
      } else if (req.method === 'PATCH') {
        if (contentType === 'application/apply-patch+yaml') {
          next = serverSideApply(live, body, { manager, force: url.searchParams.get('force') === 'true', apiVersion: gv, typeInfo, now: this.now() });
        } else {
          if (!live) return notFound();
          if (contentType === 'application/json-patch+json') next = jsonPatch(live, body);
          else if (contentType === 'application/merge-patch+json') next = mergePatch(live, body);
          else if (contentType === 'application/strategic-merge-patch+json' && r.strategicMerge) next = strategicMergePatch(live, body, typeInfo);
          else return this.send(res, 415, status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`));
        }
      } else return this.send(res, 405, status(405, 'MethodNotAllowed', 'method not allowed'));
      if (url.searchParams.get('fieldValidation') === 'Strict') {
        const unknown = unknownFields(next, typeInfo);
        if (unknown.length) return this.send(res, 400, status(400, 'BadRequest', `strict decoding error: ${unknown.map((u) => `unknown field "${u}"`).join(', ')}`));
      }
      next.metadata = { ...next.metadata, name, namespace: ns, uid: live?.metadata.uid ?? `uid-${this.rv}`, resourceVersion: String(++this.rv), creationTimestamp: live?.metadata.creationTimestamp ?? this.now().toISOString().replace(/\.\d+Z$/, 'Z') };
      if (contentType !== 'application/apply-patch+yaml') {
        next.metadata.managedFields = trackUpdate(live, next, { manager, operation: 'Update', apiVersion: gv, typeInfo, now: this.now() });
      }
      this.objects.set(key, next);
      return this.send(res, live ? 200 : 201, next);
    } catch (e) {
      if (isApplyConflictError(e)) return this.send(res, 409, status(409, 'Conflict', e.message, e.causes()));
      if (isPatchError(e)) return this.send(res, e.code, status(e.code, e.reason, e.message));
      throw e;
    }
  }
}
