/**
 * The relay's operations behind the HTTP API: tokens and joins, objects (apply/get/delete, with
 * the affected nodes' documents republished), node views, and calls to nodes (logs, twin).
 */
import type { ApplyResult, JoinResponse, NodeView, ObjectView, TokenCreated } from '../contract/api.js';
import { WireError } from '../contract/errors.js';
import type { KindRegistry } from '../contract/resources/kinds.js';
import { kindInfo, nodeNameSchema } from '../contract/resources/kinds.js';
import { NotFoundError, ValidationError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { hashPassword, newSecret, sha256, verifyPassword } from './auth.js';
import type { RelayConfig } from './config.js';
import { placeObject } from './placement.js';
import type { RpcRouter } from './rpc.js';
import type { ObjectRecord, RelayStore, TelemetryRecord } from './store/types.js';
import type { RelaySync } from './sync.js';

export interface ServiceDeps {
  config: RelayConfig;
  store: RelayStore;
  sync: RelaySync;
  rpc: RpcRouter;
  registry: KindRegistry;
  log: Logger;
  now: () => Date;
  /** the broker URL nodes should use (given the API request's host) */
  brokerUrlFor: (requestHost: string | undefined) => string;
  /** called after a node joined (external mode rewrites the mosquitto files) */
  onJoin?: () => void;
}

const RESERVED_NODE_NAMES = new Set(['_relay', 'edgerelay']);

export class RelayService {
  /** verified passwords per node (sha256), so reconnect storms do not redo PBKDF2 */
  private readonly authCache = new Map<string, string>();

  constructor(private readonly d: ServiceDeps) {}

  createToken(ttlSeconds?: unknown): TokenCreated {
    const ttl = ttlSeconds === undefined ? this.d.config.nodes.tokenTtlSeconds : Number(ttlSeconds);
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 365 * 86400) throw new ValidationError([{ path: 'ttlSeconds', reason: 'must be an integer from 1 to 31536000' }], 'token request');
    const token = `ect.${newSecret(18)}`;
    const now = this.d.now();
    const expiresAt = new Date(now.getTime() + ttl * 1000);
    this.d.store.createToken(sha256(token), expiresAt, now);
    return { token, expiresAt: expiresAt.toISOString() };
  }

  join(body: unknown, requestHost: string | undefined): JoinResponse {
    const b = (body ?? {}) as { token?: unknown; node?: unknown; labels?: unknown };
    if (typeof b.token !== 'string' || !this.d.store.checkToken(sha256(b.token), this.d.now())) {
      throw new WireError('Unauthorized', 'bootstrap token unknown or expired');
    }
    const issues = [];
    const name = typeof b.node === 'string' ? b.node : '';
    if (!nodeNameSchema.safeParse(name).success || !name) issues.push({ path: 'node', reason: 'must be a DNS label: lower-case letters, digits and -' });
    else if (RESERVED_NODE_NAMES.has(name)) issues.push({ path: 'node', reason: 'is reserved' });
    const labels = b.labels ?? {};
    if (typeof labels !== 'object' || Array.isArray(labels) || Object.values(labels).some((v) => typeof v !== 'string')) {
      issues.push({ path: 'labels', reason: 'must map strings to strings' });
    }
    if (issues.length) throw new ValidationError(issues, 'join request');
    const password = newSecret(24);
    this.d.store.upsertNode(name, hashPassword(password), labels as Record<string, string>, this.d.now());
    this.authCache.delete(name);
    this.d.sync.nodeJoined(name);
    this.d.onJoin?.();
    void this.d.sync.publishDesired([name]);
    this.d.log.info('node joined', { node: name });
    return { node: name, brokerUrl: this.d.brokerUrlFor(requestHost), username: name, password };
  }

  /** The embedded broker's password check (a cached hit answers at once). */
  async authenticate(username: string, password: string): Promise<boolean> {
    const h = sha256(password);
    if (this.authCache.get(username) === h) return true;
    const n = this.d.store.getNode(username);
    if (!n || !(await verifyPassword(password, n.passwordHash))) return false;
    this.authCache.set(username, h);
    return true;
  }

  nodeView(name: string): NodeView {
    const n = this.d.store.getNode(name);
    if (!n) throw new NotFoundError(`node "${name}"`);
    const contact = this.d.sync.lastContact(name) ?? (n.lastContact ? new Date(n.lastContact) : undefined);
    const limit = this.d.config.nodes.notReadyAfterSeconds * 1000;
    const fresh = contact ? this.d.now().getTime() - contact.getTime() <= limit : false;
    const info = n.info as { agentVersion?: string; arch?: string; outbox?: { rows: number; dropped: number }; lastError?: string };
    return {
      name: n.name,
      status: !contact ? 'Unknown' : n.online && fresh ? 'Ready' : 'NotReady',
      online: n.online,
      lastContact: contact ? contact.toISOString() : null,
      desiredVersion: this.d.store.desiredVersion(name),
      appliedVersion: n.appliedVersion,
      agentVersion: info.agentVersion ?? '',
      arch: info.arch ?? '',
      labels: n.labels,
      joinedAt: n.joinedAt,
      ...(info.outbox ? { outbox: info.outbox } : {}),
      ...(info.lastError ? { lastError: info.lastError } : {}),
    };
  }

  listNodes(): NodeView[] {
    return this.d.store.listNodes().map((n) => this.nodeView(n.name));
  }

  deleteNode(name: string): { deleted: boolean } {
    const deleted = this.d.store.deleteNode(name);
    if (deleted) {
      this.d.sync.nodeDeleted(name);
      this.authCache.delete(name);
      this.d.onJoin?.();
    }
    return { deleted };
  }

  apply(body: unknown): ApplyResult {
    const b = (body ?? {}) as { object?: unknown; node?: unknown };
    if (b.node !== undefined && typeof b.node !== 'string') throw new ValidationError([{ path: 'node', reason: 'must be a string' }], 'apply request');
    const m = this.d.registry.validate(b.object);
    const joined = this.d.store.listNodes().map((n) => n.name);
    const node = placeObject(m, b.node as string | undefined, joined);
    const out = this.d.store.applyObject(m, node, this.d.now());
    if (out.affected.length) void this.d.sync.publishDesired(out.affected);
    return { kind: m.kind, namespace: m.metadata.namespace, name: m.metadata.name, node, result: out.result, generation: out.object.generation };
  }

  private view(o: ObjectRecord): ObjectView {
    return {
      ...o,
      reported: this.d.store.listReported(o.kind, o.namespace, o.name).map((r) => ({
        node: r.node,
        status: r.status,
        desiredVersion: r.desiredVersion,
        updatedAt: r.updatedAt,
      })),
    };
  }

  private checkKind(kind: string): void {
    if (!kindInfo(kind)) throw new ValidationError([{ path: 'kind', reason: `unsupported kind "${kind}"` }], 'request');
  }

  listObjects(q: { kind?: string; namespace?: string; node?: string; name?: string }): ObjectView[] {
    if (q.kind) this.checkKind(q.kind);
    const f = Object.fromEntries(Object.entries(q).filter(([, v]) => v)) as typeof q;
    return this.d.store.listObjects(f).map((o) => this.view(o));
  }

  getObject(kind: string, namespace: string, name: string): ObjectView {
    this.checkKind(kind);
    const o = this.d.store.getObject(kind, namespace, name);
    if (!o) throw new NotFoundError(`${kind} "${namespace}/${name}"`);
    return this.view(o);
  }

  deleteObject(kind: string, namespace: string, name: string): { deleted: boolean } {
    this.checkKind(kind);
    const r = this.d.store.deleteObject(kind, namespace, name);
    if (!r.deleted) throw new NotFoundError(`${kind} "${namespace}/${name}"`);
    if (r.affected.length) void this.d.sync.publishDesired(r.affected);
    return { deleted: true };
  }

  telemetry(node: string | undefined, limit: number): TelemetryRecord[] {
    return this.d.store.listTelemetry({ ...(node ? { node } : {}), limit });
  }

  /** The node a node-bound object runs on. */
  nodeOf(kind: string, namespace: string, name: string): string {
    const o = this.d.store.getObject(kind, namespace, name);
    if (!o) throw new NotFoundError(`${kind} "${namespace}/${name}"`);
    if (o.node === '*') throw new ValidationError([{ path: 'node', reason: `${kind} ${name} is not placed on one node` }], 'request');
    return o.node;
  }
}
