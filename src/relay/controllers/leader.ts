/**
 * Leader election over a coordination.k8s.io/v1 Lease in the object store, with the meaning
 * client-go's leaderelection gives its three durations:
 * - leaseDuration: how long a candidate waits, from the moment it last saw the Lease change
 *   (its own clock, never the holder's renewTime), before it may take the Lease over;
 * - renewDeadline: how long the leader keeps trying to renew before it gives up leading
 *   (shorter than leaseDuration, so it stops before anyone else may start);
 * - retryPeriod: the wait between attempts (jittered by up to 20 %).
 * Every write carries the resourceVersion read (compare-and-swap through the API), so of two
 * candidates one wins. The decision is `leaseStep` (pure); `LeaseElector` only executes it.
 * Leading ends cleanly: the `abdicate` callback is awaited (controllers stop and finish the step
 * they are in) before this replica campaigns again; on `stop()` a leader releases the Lease
 * (holder emptied, duration 1 s) so another replica takes over without waiting.
 */
import type { KubeObject } from '../../contract/kube/types.js';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { ApiClient } from '../apiserver/client.js';
import { microTimeOf, type LeaseSpec } from '../kinds/lease.js';
import type { Clock, Timer } from './clock.js';
import type { Leadership } from './manager.js';

const LEASES = { group: 'coordination.k8s.io', resource: 'leases' };
const NAMESPACES = { group: '', resource: 'namespaces' };
const JITTER = 1.2;

export interface LeaseParams {
  namespace: string;
  name: string;
  /** this replica's holderIdentity (unique per replica) */
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/** client-go's rules: leaseDuration > renewDeadline > 1.2 × retryPeriod (> 0). */
export function leaseParamIssues(p: Pick<LeaseParams, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'>): string[] {
  const out: string[] = [];
  if (!(p.leaseDurationMs > p.renewDeadlineMs)) out.push('leaseDurationSeconds must be greater than renewDeadlineSeconds');
  if (!(p.renewDeadlineMs > JITTER * p.retryPeriodMs)) out.push('renewDeadlineSeconds must be greater than 1.2 × retryPeriodSeconds');
  if (!(p.retryPeriodMs > 0)) out.push('retryPeriodSeconds must be greater than 0');
  return out;
}

/** What a candidate saw last: the Lease's spec as text, and when (its clock) it first saw it so. */
export interface Observed {
  record: string;
  at: number;
}

export type LeaseStep =
  | { action: 'create'; spec: LeaseSpec }
  | { action: 'update'; spec: LeaseSpec; resourceVersion: string }
  /** another replica holds it and its lease has not run out (by this replica's observation) */
  | { action: 'wait'; holder: string };

/**
 * One attempt to acquire or renew. `observed` must already reflect `current` (see `observe`).
 * Durations in the Lease are whole seconds (rounded up).
 */
export function leaseStep(current: KubeObject | undefined, observed: Observed | undefined, p: LeaseParams, now: number): LeaseStep {
  const fresh: LeaseSpec = { holderIdentity: p.identity, leaseDurationSeconds: Math.ceil(p.leaseDurationMs / 1000), acquireTime: microTimeOf(now), renewTime: microTimeOf(now), leaseTransitions: 0 };
  if (!current) return { action: 'create', spec: fresh };
  const spec = (current.spec ?? {}) as LeaseSpec;
  const holder = spec.holderIdentity ?? '';
  const mine = holder === p.identity;
  // the holder's own duration counts (a released Lease says 1 s); a missing one: ours
  const durationMs = (spec.leaseDurationSeconds ?? Math.ceil(p.leaseDurationMs / 1000)) * 1000;
  if (holder && !mine && observed && observed.at + durationMs > now) return { action: 'wait', holder };
  const transitions = spec.leaseTransitions ?? 0;
  const next: LeaseSpec = mine
    ? { ...fresh, acquireTime: spec.acquireTime ?? fresh.acquireTime, leaseTransitions: transitions }
    : { ...fresh, leaseTransitions: holder || transitions ? transitions + 1 : 0 };
  return { action: 'update', spec: next, resourceVersion: current.metadata.resourceVersion ?? '' };
}

/** The observation after reading `current`: unchanged record → the old moment, else now. */
export function observe(prev: Observed | undefined, current: KubeObject | undefined, now: number): Observed {
  const record = JSON.stringify(current?.spec ?? null);
  return prev && prev.record === record ? prev : { record, at: now };
}

export class LeaseElector implements Leadership {
  private observed?: Observed;
  private leadingNow = false;

  constructor(
    private readonly client: ApiClient,
    private readonly p: LeaseParams,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** true while this replica holds the Lease (and has not given it up) */
  get leading(): boolean {
    return this.leadingNow;
  }

  campaign(lead: () => Promise<void>, abdicate: () => Promise<void> | void): { stop(): Promise<void> } {
    let stopped = false;
    let wake: { timer: Timer; resolve: () => void } | undefined;
    const sleep = (ms: number): Promise<void> =>
      new Promise((resolve) => {
        wake = { timer: this.clock.timer(ms * (1 + Math.random() * (JITTER - 1)), resolve), resolve };
      });
    const loop = (async () => {
      await this.ensureNamespace();
      while (!stopped) {
        // acquire: every retryPeriod until the Lease is ours
        while (!stopped && !(await this.attempt())) await sleep(this.p.retryPeriodMs);
        if (stopped) break;
        this.leadingNow = true;
        this.log.info('leading: this replica holds the lease', { lease: `${this.p.namespace}/${this.p.name}`, identity: this.p.identity });
        const leading = lead().catch((e: unknown) => this.log.error('starting the controllers failed', { error: errorMessage(e) }));
        // renew: every retryPeriod; a renewal must succeed within renewDeadline of the last one
        let renewed = this.clock.now().getTime();
        while (!stopped) {
          await sleep(this.p.retryPeriodMs);
          if (stopped) break;
          const left = renewed + this.p.renewDeadlineMs - this.clock.now().getTime();
          if (left > 0 && (await this.attempt(left))) renewed = this.clock.now().getTime();
          else if (renewed + this.p.renewDeadlineMs <= this.clock.now().getTime()) break;
        }
        await leading;
        this.leadingNow = false;
        await abdicate();
        if (!stopped) this.log.warn('leadership lost: the lease could not be renewed in time; controllers stopped', { identity: this.p.identity, renewDeadlineMs: this.p.renewDeadlineMs });
        else await this.release();
      }
    })();
    return {
      stop: async () => {
        stopped = true;
        wake?.timer.cancel();
        wake?.resolve();
        await loop;
      },
    };
  }

  /** one acquire-or-renew; false when another replica holds the Lease, on conflict, or on error */
  private async attempt(timeoutMs?: number): Promise<boolean> {
    const work = (async () => {
      const current = await this.client.find(LEASES, this.p.namespace, this.p.name);
      const now = this.clock.now().getTime();
      this.observed = observe(this.observed, current, now);
      const step = leaseStep(current, this.observed, this.p, now);
      if (step.action === 'wait') return false;
      const obj: KubeObject = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.p.name, namespace: this.p.namespace }, spec: { ...step.spec } };
      const written = step.action === 'create' ? await this.client.create(LEASES, obj) : await this.client.update(LEASES, { ...obj, metadata: { ...current!.metadata, resourceVersion: step.resourceVersion } });
      this.observed = observe(this.observed, written, now);
      return true;
    })();
    try {
      if (timeoutMs === undefined) return await work;
      let t: Timer | undefined;
      const timedOut = new Promise<boolean>((r) => (t = this.clock.timer(timeoutMs, () => r(false))));
      const ok = await Promise.race([work, timedOut]);
      t?.cancel();
      return ok;
    } catch (e) {
      const code = (e as { code?: number }).code;
      if (code !== 409) this.log.debug('lease attempt failed', { error: errorMessage(e) });
      return false;
    }
  }

  /** On a clean stop: empty the holder so another replica need not wait out the lease. */
  private async release(): Promise<void> {
    try {
      const current = await this.client.find(LEASES, this.p.namespace, this.p.name);
      if (!current || (current.spec as LeaseSpec | undefined)?.holderIdentity !== this.p.identity) return;
      const now = microTimeOf(this.clock.now().getTime());
      const spec: LeaseSpec = { ...(current.spec as LeaseSpec), holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now };
      await this.client.update(LEASES, { ...current, spec: { ...spec } });
      this.log.info('lease released', { identity: this.p.identity });
    } catch (e) {
      this.log.warn('could not release the lease (another replica takes over after its duration)', { error: errorMessage(e) });
    }
  }

  private async ensureNamespace(): Promise<void> {
    if (await this.client.find(NAMESPACES, undefined, this.p.namespace).catch(() => undefined)) return;
    await this.client.create(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: this.p.namespace } }).catch((e: unknown) => {
      if ((e as { code?: number }).code !== 409) this.log.warn('could not create the lease namespace', { namespace: this.p.namespace, error: errorMessage(e) });
    });
  }
}
