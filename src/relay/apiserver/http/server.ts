/**
 * The Kubernetes API over HTTP, as a plain `(req, res)` handler plus an upgrade hook, so any
 * server can carry it (the relay's HTTPS listener, a test's HTTP one). Unauthenticated: health
 * (/healthz /livez /readyz) and /version. Any identity: discovery and OpenAPI. Resources: the
 * API core, with the identity the `authenticate` function gives. Streams (pods/log, exec, attach)
 * are plugged in per subresource by their owners with `subresource()`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { badRequest, forbidden, methodNotAllowed, notFound, pathNotFound, unauthorized } from '../../../contract/kube/status.js';
import type { KubeObject, Status } from '../../../contract/kube/types.js';
import type { Logger } from '../../../core/logger.js';
import type { ResourceDef, Verb } from '../../kinds/types.js';
import type { Identity } from '../authz.js';
import type { ApiCore, CallContext } from '../core.js';
import { toStatusError } from '../errors.js';
import { subjectOf } from '../registry.js';
import { aggregatedDiscovery, apiGroupDoc, apiGroupList, apiResourceList, apiVersions } from '../../../contract/kube/resources.js';
import { send, sendStatus, sendText } from './io.js';
import { chooseDiscovery } from '../../../contract/kube/negotiate.js';
import { encodeOpenApiV2, OPENAPI_V2_PROTOBUF } from '../protobuf/openapi-v2.js';
import { minimalOpenApi, OpenApiCache, type OpenApiSource } from './openapi.js';
import { requestInfo } from '../../../contract/kube/request.js';
import { serveResource, serveSubresource } from './resources.js';
import { authorize } from '../authz.js';
import { METRICS_GROUP, METRICS_RESOURCES, METRICS_VERSION, type MetricsApi } from './metrics-api.js';

/** The Kubernetes version /version reports: kubectl 1.27–1.33 accept it, and the machine's kubectl dispatcher picks its 1.32. */
export const KUBE_MAJOR = '1';
export const KUBE_MINOR = '32';

export type Authenticate = (req: IncomingMessage) => Identity | undefined | Promise<Identity | undefined>;

export interface StreamContext {
  identity: Identity;
  def: ResourceDef;
  namespace: string | undefined;
  name: string;
  subresource: string;
  /** the object the stream is about, read (and authorized) for this request */
  object: KubeObject;
  query: URLSearchParams;
}

/** A subresource served as a stream (pods/log over HTTP; exec, attach, portforward over WebSocket). */
export interface StreamHandler {
  /** the authorization verb (RBAC: log is `get`; exec, attach and portforward are `create`) */
  verb: Verb;
  http?(ctx: StreamContext, req: IncomingMessage, res: ServerResponse): Promise<void>;
  upgrade?(ctx: StreamContext, req: IncomingMessage, socket: Duplex, head: Buffer): void | Promise<void>;
}

export interface ApiServerOptions {
  core: ApiCore;
  authenticate: Authenticate;
  log: Logger;
  now: () => Date;
  /** full OpenAPI documents (src/relay/openapi); default: minimal ones from the ResourceDefs */
  openapi?: OpenApiSource;
  /** /readyz: true when the relay serves */
  ready?: () => boolean | Promise<boolean>;
  gitVersion: string;
  watch?: { bookmarkMs?: number; maxTimeoutSeconds?: number; maxBacklogBytes?: number };
  /** metrics.k8s.io (kubectl top): absent, the group is not served nor listed */
  metrics?: MetricsApi;
  /** GET /metrics (Prometheus text) for callers allowed to read it; absent: 404 */
  prometheus?: () => Promise<{ contentType: string; body: string }>;
}

const HEALTH = /^\/(healthz|livez|readyz)(\/[a-z-]+)?$/;

export class ApiServer {
  private readonly streams = new Map<string, StreamHandler>();
  private readonly openapi: OpenApiCache;
  private openapiV2?: Buffer;

  constructor(private readonly o: ApiServerOptions) {
    this.openapi = new OpenApiCache(o.openapi ?? minimalOpenApi(o.core.registry));
  }

  /** Serve `group/resource/subresource` (e.g. '', 'pods', 'exec') with `h`. */
  subresource(group: string, resource: string, subresource: string, h: StreamHandler): void {
    this.streams.set(`${group}/${resource}/${subresource}`, h);
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.route(req, res).catch((e: unknown) => {
      const s = toStatusError(e);
      if (s.code >= 500) this.o.log.warn('api error', { method: req.method, url: req.url, error: s.message });
      sendStatus(res, s.status);
    });
  };

  readonly upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    this.routeUpgrade(req, socket, head).catch((e: unknown) => {
      const s = toStatusError(e).status;
      rejectUpgrade(socket, s);
    });
  };

  private parse(req: IncomingMessage): URL {
    try {
      return new URL(req.url ?? '/', 'http://relay');
    } catch {
      throw badRequest('malformed request URL');
    }
  }

  private async identify(req: IncomingMessage): Promise<Identity> {
    const id = await this.o.authenticate(req);
    if (!id) throw unauthorized();
    return id;
  }

  private ctx(req: IncomingMessage, identity: Identity): CallContext {
    const ua = req.headers['user-agent'];
    const prog = typeof ua === 'string' ? ua.split('/')[0]!.trim() : '';
    return { identity, warnings: [], ...(prog ? { defaultManager: prog.slice(0, 128) } : {}) };
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = this.parse(req);
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (HEALTH.test(path)) {
      const ok = path.startsWith('/readyz') ? await (this.o.ready?.() ?? true) : true;
      return sendText(res, ok ? 200 : 500, ok ? 'ok' : 'not ready');
    }
    if (path === '/version' || path === '/version/') return send(res, 200, this.version());
    const identity = await this.identify(req);
    if (path === '/metrics' && this.o.prometheus) {
      // as kube-apiserver's: a non-resource URL for identities that may read (admin, read-only)
      const attrs = { verb: 'get' as const, group: '', resource: 'metrics' };
      if (method !== 'GET' || identity.kind === 'node' || authorize(identity, attrs, undefined).allowed !== true) throw forbidden(`forbidden: User "${identity.user}" cannot ${method.toLowerCase()} path "/metrics"`);
      const m = await this.o.prometheus();
      return send(res, 200, m.body, { contentType: m.contentType });
    }
    if (path === '/openapi/v2') {
      // only gnostic's protobuf form exists (kubectl 1.27/1.28 read it); JSON v2 is not served
      if (!(req.headers.accept ?? '').includes(OPENAPI_V2_PROTOBUF)) throw pathNotFound();
      // answered under a media type Go's mime parser accepts ('@' is not a token character)
      return send(res, 200, this.v2(), { contentType: 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf' });
    }
    if (path.startsWith('/openapi/v2/')) throw pathNotFound();
    if (path === '/openapi/v3' || path === '/openapi/v3/') return send(res, 200, this.openapi.index());
    if (path.startsWith('/openapi/v3/')) {
      const doc = this.openapi.document(decodeURIComponent(path.slice('/openapi/v3/'.length)));
      if (!doc) throw pathNotFound();
      const immutable = url.searchParams.get('hash') === doc.hash;
      return send(res, 200, doc.text, { headers: { etag: `"${doc.hash}"`, ...(immutable ? { 'cache-control': 'public, immutable' } : {}) } });
    }
    const info = requestInfo(method, path, url.searchParams);
    if (info.type === 'other') throw pathNotFound();
    const registry = this.o.core.registry;
    // what discovery lists: the registered kinds, and metrics.k8s.io when it is served
    const served = this.o.metrics ? [...registry.all(), ...METRICS_RESOURCES] : registry.all();
    if (info.type === 'discovery') {
      if (method !== 'GET') throw pathNotFound();
      if (info.group === undefined) {
        const choice = chooseDiscovery(req.headers.accept);
        if (choice.kind === 'aggregated') return send(res, 200, aggregatedDiscovery(served, info.prefix, choice.version), { contentType: choice.contentType, headers: { vary: 'Accept' } });
        return send(res, 200, info.prefix === 'api' ? apiVersions(req.headers.host ?? '') : apiGroupList(served), { headers: { vary: 'Accept' } });
      }
      const doc = info.version === undefined ? apiGroupDoc(served, info.group) : apiResourceList(served, info.group, info.version);
      if (!doc) throw pathNotFound();
      return send(res, 200, doc);
    }
    if (this.o.metrics && info.group === METRICS_GROUP && info.version === METRICS_VERSION && !info.subresource) {
      const body = await this.o.metrics.serve(this.ctx(req, identity), { verb: info.verb, resource: info.resource, namespace: info.namespace, name: info.name, query: url.searchParams });
      return send(res, 200, body);
    }
    const def = registry.byResource(info.group, info.version, info.resource);
    if (!def) throw pathNotFound();
    if (def.namespaced && info.namespace === undefined && !['list', 'watch'].includes(info.verb)) throw pathNotFound();
    if (!def.namespaced && info.namespace !== undefined) throw pathNotFound();
    const ctx = this.ctx(req, identity);
    if (info.subresource === 'scale' || info.subresource === 'binding') return serveSubresource(req, res, this.o.core, ctx, { ...info, def }, url.searchParams);
    if (info.subresource && info.subresource !== 'status') {
      const h = this.streams.get(`${def.group}/${def.plural}/${info.subresource}`);
      if (!h?.http || !info.name) throw pathNotFound();
      // one verb per stream subresource (log: GET), as kube-apiserver: anything else is 405, not a stream
      if (info.verb !== h.verb) throw methodNotAllowed(`the server does not allow this method on the requested resource (${info.verb} ${def.plural}/${info.subresource})`);
      const sctx = await this.streamContext(ctx, def, info.namespace, info.name, info.subresource, h.verb, url.searchParams);
      return h.http(sctx, req, res);
    }
    if (info.subresource === 'status' && !['get', 'update', 'patch'].includes(info.verb)) throw pathNotFound();
    return serveResource(req, res, this.o.core, ctx, { ...info, def }, url.searchParams, {
      now: this.o.now,
      bookmarkMs: this.o.watch?.bookmarkMs ?? 60_000,
      maxTimeoutSeconds: this.o.watch?.maxTimeoutSeconds ?? 1800,
      maxBacklogBytes: this.o.watch?.maxBacklogBytes ?? 16 * 1024 * 1024,
    });
  }

  private async streamContext(ctx: CallContext, def: ResourceDef, namespace: string | undefined, name: string, subresource: string, verb: Verb, query: URLSearchParams): Promise<StreamContext> {
    const check = this.o.core.authorize(ctx, def, verb, namespace, name, subresource);
    const object = await this.o.core.d.store.get({ group: def.group, resource: def.plural, namespace: def.namespaced ? (namespace ?? '') : '', name });
    if (!object) throw notFound(subjectOf(def, name));
    check?.(object);
    return { identity: ctx.identity, def, namespace, name, subresource, object, query };
  }

  private async routeUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = this.parse(req);
    const info = requestInfo('GET', url.pathname, url.searchParams);
    if (info.type !== 'resource' || !info.subresource || !info.name) throw pathNotFound();
    const def = this.o.core.registry.byResource(info.group, info.version, info.resource);
    const h = def && this.streams.get(`${def.group}/${def.plural}/${info.subresource}`);
    if (!def || !h?.upgrade) throw pathNotFound();
    const identity = await this.identify(req);
    const sctx = await this.streamContext(this.ctx(req, identity), def, info.namespace, info.name, info.subresource, h.verb, url.searchParams);
    await h.upgrade(sctx, req, socket, head);
  }

  private v2(): Buffer {
    this.openapiV2 ??= encodeOpenApiV2(
      'edgerelay',
      this.o.gitVersion,
      this.o.core.registry.all().map((d) => {
        const base = d.group ? `/apis/${d.group}/${d.version}` : `/api/${d.version}`;
        return { path: d.namespaced ? `${base}/namespaces/{namespace}/${d.plural}/{name}` : `${base}/${d.plural}/{name}`, group: d.group, version: d.version, kind: d.kind };
      }),
    );
    return this.openapiV2;
  }

  version(): Record<string, string> {
    return {
      major: KUBE_MAJOR,
      minor: KUBE_MINOR,
      gitVersion: this.o.gitVersion,
      gitCommit: '',
      gitTreeState: 'clean',
      buildDate: '1970-01-01T00:00:00Z',
      goVersion: `node${process.versions.node}`,
      compiler: 'node',
      platform: `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`,
    };
  }
}

/** An upgrade refused before any protocol switch: a plain HTTP answer with the Status, then close. */
export function rejectUpgrade(socket: Duplex, s: Status): void {
  const body = JSON.stringify(s);
  const text = s.code === 401 ? 'Unauthorized' : s.code === 403 ? 'Forbidden' : s.code === 404 ? 'Not Found' : 'Error';
  socket.end(`HTTP/1.1 ${s.code} ${text}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

