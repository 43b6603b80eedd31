/**
 * The relay's operations behind its edge routes: bootstrap tokens, joining (a node's broker
 * credentials, and its Node object through the API), the broker's password check, and telemetry
 * history. Objects, nodes, status and logs are the Kubernetes API's.
 */
import type { JoinResponse, TokenCreated } from '../contract/api.js';
import { WireError } from '../contract/errors.js';
import { nodeNameSchema } from '../contract/resources/kinds.js';
import { labelKeyProblem, labelValueProblem } from '../contract/kube/selectors.js';
import { ValidationError, type FieldIssue } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { issueBootstrapToken } from './admin.js';
import { hashPassword, newSecret, passwordCheck, safeEqual, sha256, verifyPassword } from './auth.js';
import type { RelayConfig } from './config.js';
import type { CredentialStore } from './store/credentials.js';
import type { RelayStore, TelemetryRecord } from './store/types.js';

export interface ServiceDeps {
  config: RelayConfig;
  /** this replica's telemetry */
  store: RelayStore;
  /** node credentials and tokens (shared by a fleet) */
  credentials: CredentialStore;
  log: Logger;
  now: () => Date;
  /** the broker URLs nodes should use (given the API request's host): one, or a cluster's members */
  brokerUrlsFor: (requestHost: string | undefined) => string[];
  /** the joining node's Node object (created if missing), before its credentials exist */
  registerNode: (node: string, labels: Record<string, string>) => Promise<void>;
  /** after a node joined: it is heard from now on (and external mode rewrites the mosquitto files) */
  onJoin?: (node: string) => void;
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

  async createToken(ttlSeconds?: unknown): Promise<TokenCreated> {
    const t = await issueBootstrapToken(this.d.credentials, ttlSeconds ?? this.d.config.nodes.tokenTtlSeconds, this.d.now());
    return { token: t.token, expiresAt: t.expiresAt.toISOString() };
  }

  /**
   * Trade a bootstrap token for a node's own broker credentials. A name that already joined is
   * refused (409) unless an admin allowed that re-join (`edgerelay node allow-rejoin NAME` or
   * `edgerelay rotate node NAME`): a bootstrap token alone never takes over an existing node.
   */
  async join(body: unknown, requestHost: string | undefined): Promise<JoinOutcome> {
    const b = (body ?? {}) as { token?: unknown; node?: unknown; labels?: unknown };
    if (typeof b.token !== 'string' || !(await this.d.credentials.checkToken(sha256(b.token), this.d.now()))) {
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
    const now = this.d.now();
    const rejoined = !!(await this.d.credentials.getNode(name));
    if (rejoined && !(await this.d.credentials.takeRejoin(name, now))) {
      throw new WireError('Conflict', `node "${name}" has already joined; a re-join needs an admin's consent first: edgerelay node allow-rejoin ${name}`);
    }
    await this.d.registerNode(name, labels as Record<string, string>);
    const password = newSecret(24);
    const hash = hashPassword(password);
    await this.d.credentials.upsertNode(name, hash, labels as Record<string, string>, this.d.now(), passwordCheck(password, hash));
    this.authCache.delete(name);
    if (rejoined) this.d.disconnect?.(name);
    this.d.onJoin?.(name);
    this.d.log.info(rejoined ? 'node re-joined' : 'node joined', { node: name });
    const [brokerUrl = '', ...more] = this.d.brokerUrlsFor(requestHost);
    return { response: { node: name, brokerUrl, ...(more.length ? { brokerUrls: more } : {}), username: name, password }, rejoined };
  }

  /**
   * The embedded broker's password check. The stored credentials are read every time (a rotation
   * by `edgerelay rotate node` in another process, or a deleted Node, takes effect at once). The
   * check a join stored beside the hash (one SHA-256, auth.ts `passwordCheck`) admits a node
   * without PBKDF2: a relay that starts checks 20,000 nodes in ~40 ms of CPU instead of ~11 s
   * (0.54 ms per PBKDF2 on a 2-core x64). Anything else is checked against the `$7$` hash with PBKDF2 on the thread pool
   * (a reconnect storm's checks do not hold the event loop): a node that joined before checks
   * were stored (its check is stored then), a wrong password.
   */
  async authenticate(username: string, password: string): Promise<boolean> {
    const n = await this.d.credentials.getNode(username);
    if (!n) return false;
    const key = `${sha256(password)}:${n.passwordHash}`;
    if (this.authCache.get(username) === key) return true;
    const check = passwordCheck(password, n.passwordHash);
    if (n.passwordCheck === undefined || !safeEqual(check, n.passwordCheck)) {
      if (!(await verifyPassword(password, n.passwordHash))) return false;
      await this.d.credentials.setPasswordCheck(username, n.passwordHash, check);
    }
    this.authCache.set(username, key);
    return true;
  }

  /**
   * The hash a node's session was admitted with is no longer stored (rotated or deleted). Only a
   * session this relay admitted with a node password is judged: a consumer's (app channel) or any
   * other client's is not a node's, and was closed every time the credentials changed.
   */
  async credentialsChanged(username: string): Promise<boolean> {
    const cached = this.authCache.get(username);
    if (cached === undefined) return false;
    const n = await this.d.credentials.getNode(username);
    return !n || !cached.endsWith(`:${n.passwordHash}`);
  }

  /** A node's credentials are gone: no cached password may let it in again. */
  forget(node: string): void {
    this.authCache.delete(node);
  }

  telemetry(node: string | undefined, limit: number): TelemetryRecord[] {
    return this.d.store.listTelemetry({ ...(node ? { node } : {}), limit });
  }
}
