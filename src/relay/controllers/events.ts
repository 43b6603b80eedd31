/**
 * Events as Kubernetes' controllers write them (core/v1 Event: involvedObject, reason, message,
 * source.component, first/last timestamps, count), so `kubectl describe` and `kubectl get
 * events` show what the relay's controllers did. The same (object, reason, message) seen again
 * bumps the count of the event already written, as client-go's recorder aggregates. Writing an
 * event never fails the work that caused it: errors are logged.
 */
import type { KubeObject } from '../../contract/kube/types.js';
import type { Logger } from '../../core/logger.js';
import type { ApiClient } from '../apiserver/client.js';
import type { Clock } from './clock.js';

const EVENTS = { group: '', resource: 'events' };
const REMEMBERED = 4096;

const iso = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export type EventType = 'Normal' | 'Warning';

export class EventRecorder {
  private readonly written = new Map<string, { namespace: string; name: string; count: number }>();
  private seq = 0;

  constructor(
    private readonly client: ApiClient,
    private readonly component: string,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Record an event about `obj` (resolves once written or given up). */
  async emit(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const m = obj.metadata;
    const namespace = m.namespace || 'default';
    const key = `${m.uid ?? ''}|${type}|${reason}|${message}`;
    const now = iso(this.clock.now());
    try {
      const prev = this.written.get(key);
      if (prev) {
        prev.count++;
        try {
          await this.client.patch(EVENTS, prev.namespace, prev.name, 'merge', { count: prev.count, lastTimestamp: now });
          return;
        } catch (e) {
          if ((e as { code?: number }).code !== 404) throw e;
          this.written.delete(key);
        }
      }
      const name = `${m.name ?? 'object'}.${(BigInt(this.clock.now().getTime()) * 1_000_000n + BigInt(this.seq++ % 1_000_000)).toString(16)}`;
      await this.client.create(EVENTS, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace },
        involvedObject: { kind: obj.kind, namespace: m.namespace, name: m.name, uid: m.uid, apiVersion: obj.apiVersion, resourceVersion: m.resourceVersion },
        reason,
        message,
        source: { component: this.component },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
        type,
        reportingComponent: this.component,
        reportingInstance: '',
      });
      this.written.set(key, { namespace, name, count: 1 });
      if (this.written.size > REMEMBERED) this.written.delete(this.written.keys().next().value as string);
    } catch (e) {
      this.log.debug('could not write an event', { reason, object: m.name, error: e instanceof Error ? e.message : String(e) });
    }
  }
}
