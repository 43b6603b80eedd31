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
import { issueBootstrapToken } from './admin.js';
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
  /** close a node's live MQTT session (its credentials changed) */
  disconnect?: (node: string) => void;
}

/** What a join did, for the audit record. */
export interface JoinOutcome {
  response: JoinResponse;
  rejoined: boolean;
}

const RESERVED_NODE_NAMES = new Set(['_relay', 'edgerelay']);

export class RelayService {
  /** per node: sha256(verified password) + the stored hash it was verified against, so reconnect storms skip PBKDF2 */
  private readonly authCache = new Map<string, string>();

  constructor(private readonly d: ServiceDeps) {}

  createToken(ttlSeconds?: unknown): TokenCreated {
    const t = issueBootstrapToken(this.d.store, ttlSeconds ?? this.d.config.nodes.tokenTtlSeconds, this.d.now());
    return { token: t.token, expiresAt: t.expiresAt.toISOString() };
  }

  /**
   * Trade a bootstrap token for a node's own broker credentials. A name that already joined is
   * refused (409) unless an admin allowed that re-join (`edgerelay node allow-rejoin NAME` or
   * `edgerelay rotate node NAME`): a bootstrap token alone never takes over an existing node.
   */
  join(body: unknown, requestHost: string | undefined): JoinOutcome {
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
    const now = this.d.now();
    const rejoined = !!this.d.store.getNode(name);
    if (rejoined && !this.d.store.takeRejoin(name, now)) {
      throw new WireError('Conflict', `node "${name}" has already joined; a re-join needs an admin's consent first: edgerelay node allow-rejoin ${name}`);
    }
    const password = newSecret(24);
    this.d.store.upsertNode(name, hashPassword(password), labels as Record<string, string>, now);
    this.authCache.delete(name);
    if (rejoined) this.d.disconnect?.(name);
    this.d.sync.nodeJoined(name);
    this.d.onJoin?.();
    void this.d.sync.publishDesired([name]);
    this.d.log.info(rejoined ? 'node re-joined' : 'node joined', { node: name });
    return { response: { node: name, brokerUrl: this.d.brokerUrlFor(requestHost), username: name, password }, rejoined };
  }

  /**
   * The embedded broker's password check. The stored hash is read every time (a rotation by
   * `edgerelay rotate node` in another process takes effect at once); only PBKDF2 is cached, and
   * it runs on the thread pool (a reconnect storm's checks do not hold the event loop).
   */
  async authenticate(username: string, password: string): Promise<boolean> {
    const n = this.d.store.getNode(username);
    if (!n) return false;
    const key = `${sha256(password)}:${n.passwordHash}`;
    if (this.authCache.get(username) === key) return true;
    if (!(await verifyPassword(password, n.passwordHash))) return false;
    this.authCache.set(username, key);
    return true;
  }

  /** The hash a node's session was admitted with is no longer stored (rotated or deleted). */
  credentialsChanged(username: string): boolean {
    const n = this.d.store.getNode(username);
    const cached = this.authCache.get(username);
    return !n || (cached !== undefined && !cached.endsWith(`:${n.passwordHash}`));
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
      this.d.disconnect?.(name);
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
