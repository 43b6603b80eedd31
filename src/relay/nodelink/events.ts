/**
 * core/v1 Events as Kubernetes records them: one Event per distinct occurrence (same object uid,
 * part, type, reason, message and source), repeats counted on it (`count`, `firstTimestamp`,
 * `lastTimestamp`) instead of a new object each time — Kubernetes' event correlator. The node's
 * events (edged, devicetwin) and the relay's own (Scheduled) go through here, each written with
 * its writer's identity through the API.
 *
 * Times: an event carries when it happened (the node's clock for the node's events), but never a
 * time ahead of the relay's clock, and a repeat never moves `lastTimestamp` back.
 */
import { randomInt } from 'node:crypto';
import type { KubeObject } from '../../contract/kube/types.js';
import type { Logger } from '../../core/logger.js';
import type { ApiClient } from '../apiserver/client.js';
import type { StoreOp } from '../store/objects.js';

const EVENTS = { group: '', resource: 'events' };

export interface EventInput {
  involved: { apiVersion: string; kind: string; namespace?: string; name: string; uid: string };
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  fieldPath?: string;
  /** who saw it: kubelet, devicetwin, default-scheduler */
  component: string;
  /** the node it happened on */
  host?: string;
  /** when it happened (clamped to the relay's now) */
  at: Date;
}

interface EventShape {
  count?: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
}

const rfc3339 = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The correlation key: what makes two occurrences the same event. */
export function eventKey(e: EventInput): string {
  return [e.involved.uid, e.fieldPath ?? '', e.type, e.reason, e.message, e.component, e.host ?? ''].join('\u0000');
}

/**
 * Kubernetes names events `<object>.<hex nanoseconds>`. Our times are milliseconds, so the
 * nanoseconds below them are `nanos` (random per event: a burst of events stamped in one
 * millisecond — a node's queue, several replicas recording — gets distinct names, not a bounded
 * series of retries on one name).
 */
export function eventName(objectName: string, at: Date, nanos = 0): string {
  return `${objectName}.${(BigInt(at.getTime()) * 1_000_000n + BigInt(nanos % 1_000_000)).toString(16)}`;
}

/** A new Event object for `e`. */
export function newEvent(e: EventInput, name: string, at: Date): KubeObject {
  const ns = e.involved.namespace || 'default';
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name, namespace: ns },
    involvedObject: {
      apiVersion: e.involved.apiVersion,
      kind: e.involved.kind,
      name: e.involved.name,
      uid: e.involved.uid,
      ...(e.involved.namespace ? { namespace: e.involved.namespace } : {}),
      ...(e.fieldPath ? { fieldPath: e.fieldPath } : {}),
    },
    reason: e.reason,
    message: e.message,
    source: { component: e.component, ...(e.host ? { host: e.host } : {}) },
    firstTimestamp: rfc3339(at),
    lastTimestamp: rfc3339(at),
    count: 1,
    type: e.type,
    reportingComponent: e.component,
    reportingInstance: e.host ?? '',
  } as KubeObject;
}

/** `cur` seen once more at `at` (count + 1; lastTimestamp only forward). */
export function repeated(cur: KubeObject, at: Date): KubeObject {
  const c = cur as KubeObject & EventShape;
  const last = c.lastTimestamp ? Date.parse(c.lastTimestamp) : NaN;
  const lastTimestamp = Number.isNaN(last) || at.getTime() > last ? rfc3339(at) : c.lastTimestamp;
  return { ...cur, count: (c.count ?? 1) + 1, lastTimestamp } as KubeObject;
}

export class EventRecorder {
  /** correlation key → the Event's namespace/name (bounded; a miss falls back to a list) */
  private readonly known = new Map<string, { namespace: string; name: string }>();

  constructor(
    private readonly now: () => Date,
    private readonly log: Logger,
    private readonly cacheSize = 4096,
  ) {}

  private remember(key: string, v: { namespace: string; name: string }): void {
    this.known.delete(key);
    this.known.set(key, v);
    if (this.known.size > this.cacheSize) this.known.delete(this.known.keys().next().value as string);
  }

  /** An existing Event for this occurrence, by cache or by a list on the object's uid and reason. */
  private async find(by: ApiClient, key: string, e: EventInput): Promise<KubeObject | undefined> {
    const hit = this.known.get(key);
    if (hit) {
      const o = await by.find(EVENTS, hit.namespace, hit.name);
      if (o) return o;
      this.known.delete(key);
    }
    const ns = e.involved.namespace || 'default';
    const list = await by.list(EVENTS, ns, { fieldSelector: `involvedObject.uid=${e.involved.uid},reason=${e.reason}` });
    return list.items.find((o) => eventKey(inputOf(o, e.at)) === key);
  }

  /**
   * Record one occurrence: a repeat of a known Event is counted on it, anything else is a new
   * Event. `alsoCommit` goes with the write (a node report's dedup mark).
   */
  async record(by: ApiClient, e: EventInput, alsoCommit: StoreOp[] = []): Promise<KubeObject> {
    const now = this.now();
    const at = e.at.getTime() > now.getTime() ? now : e.at;
    const key = eventKey(e);
    const cur = await this.find(by, key, e);
    if (cur) {
      const out = await by.update(EVENTS, repeated(cur, at), { alsoCommit });
      this.remember(key, { namespace: out.metadata.namespace ?? '', name: out.metadata.name ?? '' });
      return out;
    }
    const nanos = randomInt(1_000_000);
    for (let bump = 0; ; bump++) {
      try {
        const out = await by.create(EVENTS, newEvent(e, eventName(e.involved.name, at, nanos + bump), at), { alsoCommit });
        this.remember(key, { namespace: out.metadata.namespace ?? '', name: out.metadata.name ?? '' });
        return out;
      } catch (err) {
        // another occurrence got the same nanosecond name: take the next one
        if ((err as { code?: number }).code !== 409 || bump >= 8) throw err;
        this.log.debug('event name taken; trying the next', { name: eventName(e.involved.name, at, nanos + bump) });
      }
    }
  }
}

/** The correlation fields of a stored Event, as an EventInput. */
function inputOf(o: KubeObject, at: Date): EventInput {
  const x = o as KubeObject & { involvedObject?: Record<string, string>; type?: string; reason?: string; message?: string; source?: { component?: string; host?: string } };
  const inv = x.involvedObject ?? {};
  return {
    involved: { apiVersion: inv.apiVersion ?? '', kind: inv.kind ?? '', name: inv.name ?? '', uid: inv.uid ?? '', ...(inv.namespace ? { namespace: inv.namespace } : {}) },
    type: x.type === 'Warning' ? 'Warning' : 'Normal',
    reason: x.reason ?? '',
    message: x.message ?? '',
    ...(inv.fieldPath ? { fieldPath: inv.fieldPath } : {}),
    component: x.source?.component ?? '',
    ...(x.source?.host ? { host: x.source.host } : {}),
    at,
  };
}
