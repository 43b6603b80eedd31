/**
 * The relay's operations behind its private /edge/v1 routes: bootstrap tokens, joining (a node's
 * broker credentials, and its Node object through the API), the broker's password check, and
 * telemetry history. Objects, nodes, status and logs are the Kubernetes API's.
 */
import type { JoinResponse, TokenCreated } from '../contract/api.js';
import { WireError } from '../contract/errors.js';
import { nodeNameSchema } from '../contract/resources/kinds.js';
import { labelKeyProblem, labelValueProblem } from '../contract/kube/selectors.js';
import { ValidationError, type FieldIssue } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { hashPassword, newSecret, sha256, verifyPassword } from './auth.js';
import type { RelayConfig } from './config.js';
import type { RelayStore, TelemetryRecord } from './store/types.js';

export interface ServiceDeps {
  config: RelayConfig;
  store: RelayStore;
  log: Logger;
  now: () => Date;
  /** the broker URL nodes should use (given the API request's host) */
  brokerUrlFor: (requestHost: string | undefined) => string;
  /** the joining node's Node object (created if missing), before its credentials exist */
  registerNode: (node: string, labels: Record<string, string>) => Promise<void>;
  /** after a node joined: it is heard from now on (and external mode rewrites the mosquitto files) */
  onJoin?: (node: string) => void;
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

  async join(body: unknown, requestHost: string | undefined): Promise<JoinResponse> {
    const b = (body ?? {}) as { token?: unknown; node?: unknown; labels?: unknown };
    if (typeof b.token !== 'string' || !this.d.store.checkToken(sha256(b.token), this.d.now())) {
      throw new WireError('Unauthorized', 'bootstrap token unknown or expired');
    }
    const issues: FieldIssue[] = [];
    const name = typeof b.node === 'string' ? b.node : '';
    if (!nodeNameSchema.safeParse(name).success || !name) issues.push({ path: 'node', reason: 'must be a DNS label: lower-case letters, digits and -' });
    else if (RESERVED_NODE_NAMES.has(name)) issues.push({ path: 'node', reason: 'is reserved' });
    const labels = b.labels ?? {};
    if (typeof labels !== 'object' || Array.isArray(labels) || Object.values(labels).some((v) => typeof v !== 'string')) {
      issues.push({ path: 'labels', reason: 'must map strings to strings' });
    } else {
      for (const [k, v] of Object.entries(labels as Record<string, string>)) {
        const why = labelKeyProblem(k) ?? labelValueProblem(v);
        if (why) issues.push({ path: `labels.${k}`, reason: why });
      }
    }
    if (issues.length) throw new ValidationError(issues, 'join request');
    await this.d.registerNode(name, labels as Record<string, string>);
    const password = newSecret(24);
    this.d.store.upsertNode(name, hashPassword(password), labels as Record<string, string>, this.d.now());
    this.authCache.delete(name);
    this.d.onJoin?.(name);
    this.d.log.info('node joined', { node: name });
    return { node: name, brokerUrl: this.d.brokerUrlFor(requestHost), username: name, password };
  }

  /** The embedded broker's password check. */
  authenticate(username: string, password: string): boolean {
    const h = sha256(password);
    if (this.authCache.get(username) === h && this.d.store.getNode(username)) return true;
    const n = this.d.store.getNode(username);
    if (!n || !verifyPassword(password, n.passwordHash)) return false;
    this.authCache.set(username, h);
    return true;
  }

  /** A node's credentials are gone: no cached password may let it in again. */
  forget(node: string): void {
    this.authCache.delete(node);
  }

  telemetry(node: string | undefined, limit: number): TelemetryRecord[] {
    return this.d.store.listTelemetry({ ...(node ? { node } : {}), limit });
  }
}
