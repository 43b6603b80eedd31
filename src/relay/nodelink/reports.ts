/**
 * A node's reports as API writes with the node's own identity (`node:<name>`): a Pod's or a
 * Device's status through its status subresource — which the API admits only for objects bound
 * to that node — its own Node's status, and the Events it saw. Nothing here writes an object
 * behind the API; the only store op is the report's dedup mark, committed with the write
 * (`alsoCommit`), so "applied" and "seen" cannot disagree after a crash.
 *
 * Order is the relay's: one node's reports are applied one at a time in the order they arrived;
 * the time a node wrote into a report never decides which report wins (a far-future timestamp
 * changes nothing). A report about an older incarnation of an object (another uid) is dropped.
 *
 * A gracefully deleted Pod whose node reports it finished (Succeeded/Failed: its containers are
 * gone) is confirmed gone with the node's final delete (`confirmTerminated`), so `kubectl delete`
 * returns then, and not before.
 */
import { isStatusError } from '../../contract/kube/status.js';
import type { KubeObject } from '../../contract/kube/types.js';
import { MESH_KEY_ANNOTATION, MESH_PORT_ANNOTATION } from '../../contract/mesh.js';
import { nodeReportedStatusSchema, objectEventSchema, type ReportedState, type ReportedTelemetry } from '../../contract/payloads.js';
import { ConflictError, errorMessage, isValidationError, type FieldIssue } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { toFieldIssues } from '../../lib/schema.js';
import { confirmTerminated, type ApiClient } from '../apiserver/client.js';
import { deviceStatusFromReport } from '../kinds/device-status.js';
import { nodeSystemLabels, nodeSystemStatus } from '../kinds/node-lifecycle.js';
import type { InternalRecords } from '../store/internal.js';
import { type ObjectStore, StoreConflictError, type StoreOp, StoreUnavailableError } from '../store/objects.js';
import { nodeNameOf } from './desired.js';
import type { EventRecorder } from './events.js';
import type { Liveness } from './liveness.js';

const PODS = { group: '', resource: 'pods' };
const DEVICES = { group: 'devices.kubeedge.io', resource: 'devices' };
const NODES = { group: '', resource: 'nodes' };

/** Annotations the relay keeps on a Node from its report (kubectl describe node shows them). */
export const NODE_ANNOTATIONS = {
  appliedVersion: 'edgecore.io/applied-version',
  outbox: 'edgecore.io/outbox',
  lastError: 'edgecore.io/last-error',
} as const;

export interface ReportsDeps {
  /** an API client acting as `node:<name>` */
  nodeClient(node: string): ApiClient;
  marks: InternalRecords;
  store: ObjectStore;
  events: EventRecorder;
  liveness: Liveness;
  log: Logger;
  /** reports waiting per node before more are dropped (a node flooding the relay) */
  maxPending?: number;
}

/** Why a report was not applied (counted and logged, never thrown to the broker). */
class Refused extends Error {
  constructor(
    message: string,
    readonly issues: FieldIssue[] = [],
  ) {
    super(message);
  }
}

/** Retries of a report the store could not take (its connection lost, PostgreSQL restarting): 100 ms doubling to 2 s. */
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 2000;
/** Retries of a report that met another replica's write (a 409): each reads the dedup mark again. */
const CONFLICT_RETRIES = 5;

/**
 * Whether a failed report may be applied later, and why: 'unavailable' when the store was away
 * (StoreUnavailableError, or the API's 503/504 for it), 'conflict' when another writer came first
 * (a 409 or the store's conflict: the retry reads the mark again, so a report another replica
 * applied ends as a duplicate);
 * undefined for a verdict — refused, invalid, forbidden, not found, and an internal error too: a
 * report that broke the relay's code would break it again, and must not hold the node's line.
 */
export function retryable(e: unknown): 'unavailable' | 'conflict' | undefined {
  if (e instanceof StoreUnavailableError) return 'unavailable';
  if (e instanceof StoreConflictError || e instanceof ConflictError) return 'conflict';
  if (!isStatusError(e)) return undefined;
  const code = e.status.code;
  return code === 409 ? 'conflict' : code === 503 || code === 504 ? 'unavailable' : undefined;
}

export class NodeReports {
  readonly counters = { applied: 0, duplicates: 0, refused: 0, dropped: 0, confirmed: 0, retried: 0 };
  private readonly chains = new Map<string, { tail: Promise<void>; pending: number }>();
  private stopped = false;

  constructor(private readonly d: ReportsDeps) {}

  /**
   * Stop retrying. A report still waiting for the store is then never settled: the broker does
   * not get its acknowledgement and hands it to the next run (or another replica).
   */
  stop(): void {
    this.stopped = true;
  }

  /**
   * `fn` until it succeeds or fails with a verdict. While the store is unavailable it waits and
   * tries again — the node's later reports wait behind it (order), and so does the broker's
   * acknowledgement of the message (nothing acknowledged is lost).
   */
  private async attempt(node: string, what: string, fn: () => Promise<void>): Promise<void> {
    for (let n = 0; ; n++) {
      try {
        return await fn();
      } catch (e) {
        const why = retryable(e);
        if (!why || (why === 'conflict' && n >= CONFLICT_RETRIES)) throw e;
        if (this.stopped) return new Promise<void>(() => undefined);
        this.counters.retried++;
        this.d.log[n === 0 && why === 'unavailable' ? 'warn' : 'debug']('report not applied yet; retrying', { node, what, error: errorMessage(e) });
        await new Promise((r) => setTimeout(r, why === 'conflict' ? 0 : Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** n)));
      }
    }
  }

  /** Run `fn` after the node's earlier reports; resolves when it is done (never rejects). */
  private serial(node: string, what: string, fn: () => Promise<void>): Promise<void> {
    let c = this.chains.get(node);
    if (!c) this.chains.set(node, (c = { tail: Promise.resolve(), pending: 0 }));
    if (c.pending >= (this.d.maxPending ?? 10_000)) {
      this.counters.dropped++;
      return Promise.resolve();
    }
    c.pending++;
    const chain = c;
    const run = async (): Promise<void> => {
      try {
        await this.attempt(node, what, fn);
      } catch (e) {
        this.counters.refused++;
        const forbidden = isStatusError(e) && e.status.code === 403;
        const issues = e instanceof Refused ? e.issues : isValidationError(e) ? e.issues : isStatusError(e) ? (e.status.details?.causes ?? []).map((x) => ({ path: x.field ?? '', reason: x.message ?? '' })) : [];
        this.d.log[forbidden ? 'warn' : 'debug']('report refused', { node, what, error: errorMessage(e), issues: issues.slice(0, 5).map((i) => `${i.path || '(root)'}: ${i.reason}`) });
      } finally {
        chain.pending--;
        if (chain.pending === 0 && this.chains.get(node) === chain) this.chains.delete(node);
      }
    };
    c.tail = c.tail.then(run);
    return c.tail;
  }

  /**
   * The mark ops for a report (undefined: seen before), and a way to make sure the mark is set.
   * `id` is the report's identity (an object's key for its state, the seq for an event): a
   * report a broker hands over late, after newer ones, is still applied when nothing newer of
   * its identity was (InternalRecords.markOps).
   */
  private async mark(node: string, stream: string | undefined, seq: number | undefined, id: string): Promise<{ ops: StoreOp[]; ensure: () => Promise<void> } | undefined> {
    if (stream === undefined || seq === undefined) return { ops: [], ensure: async () => undefined };
    const ops = await this.d.marks.markOps(node, stream, seq, id);
    if (!ops) {
      this.counters.duplicates++;
      return undefined;
    }
    // a write that changed nothing committed nothing (its mark neither): the mark goes alone
    const ensure = async (): Promise<void> => {
      const again = await this.d.marks.markOps(node, stream, seq, id);
      if (again) await this.d.store.commit(again);
    };
    return { ops, ensure };
  }

  /**
   * Apply a report whose mark is `mark`: then make sure the mark is set (a write that changed
   * nothing committed nothing), and so also after a verdict (a refused report is consumed). Not
   * after an error a retry may get past (attempt): the report is not consumed yet.
   */
  private async marked(mark: { ensure: () => Promise<void> }, apply: () => Promise<void>): Promise<void> {
    try {
      await apply();
    } catch (e) {
      if (!retryable(e)) await mark.ensure();
      throw e;
    }
    await mark.ensure();
  }

  /** `reported/state`: a Pod's, a Device's or the Node's own status. */
  state(node: string, m: ReportedState): Promise<void> {
    return this.serial(node, `${m.kind} ${m.namespace}/${m.name}`, async () => {
      const mark = await this.mark(node, m.stream, m.seq, `${m.kind}/${m.namespace}/${m.name}`);
      if (!mark) return;
      await this.marked(mark, async () => {
        if (m.kind === 'Pod') await this.podStatus(node, m, mark.ops);
        else if (m.kind === 'Device') await this.deviceStatus(node, m, mark.ops);
        else if (m.kind === 'Node') await this.nodeStatus(node, m, mark.ops);
        else throw new Refused(`no status of kind ${m.kind} is taken from nodes`);
        this.counters.applied++;
      });
    });
  }

  /** The object a report is about, as the node's client sees it (only objects bound to the node count). */
  private async bound(client: ApiClient, ref: { group: string; resource: string }, node: string, m: { namespace: string; name: string; uid?: string | undefined }): Promise<KubeObject> {
    const o = await client.find(ref, m.namespace, m.name);
    if (!o) throw new Refused(`${ref.resource} ${m.namespace}/${m.name} not found`);
    if (nodeNameOf(o) !== node) throw new Refused(`${ref.resource} ${m.namespace}/${m.name} is not bound to ${node}`);
    if (m.uid && o.metadata.uid !== m.uid) throw new Refused(`${ref.resource} ${m.namespace}/${m.name}: the report is about an older object (uid ${m.uid})`);
    return o;
  }

  /** The whole status replaced, on that uid only (a JSON patch: labels and spec stay untouched). */
  private async writeStatus(client: ApiClient, ref: { group: string; resource: string }, o: KubeObject, status: unknown, ops: StoreOp[]): Promise<KubeObject> {
    const patch = [
      { op: 'test', path: '/metadata/uid', value: o.metadata.uid },
      { op: 'add', path: '/status', value: status },
    ];
    return client.patch(ref, o.metadata.namespace, o.metadata.name ?? '', 'json', patch, { subresource: 'status', alsoCommit: ops });
  }

  private async podStatus(node: string, m: ReportedState, ops: StoreOp[]): Promise<void> {
    const client = this.d.nodeClient(node);
    const pod = await this.bound(client, PODS, node, m);
    const out = await this.writeStatus(client, PODS, pod, m.status, ops);
    const phase = (out.status as { phase?: string } | undefined)?.phase;
    if (out.metadata.deletionTimestamp && (phase === 'Succeeded' || phase === 'Failed')) {
      // the node stopped it: its final delete ends the graceful deletion
      await confirmTerminated(client, PODS, out.metadata.namespace, out.metadata.name ?? '', out.metadata.uid ?? '');
      this.counters.confirmed++;
    }
  }

  private async deviceStatus(node: string, m: ReportedState, ops: StoreOp[]): Promise<void> {
    const client = this.d.nodeClient(node);
    const device = await this.bound(client, DEVICES, node, m);
    await this.writeStatus(client, DEVICES, device, deviceStatusFromReport(m.status), ops);
  }

  private async nodeStatus(node: string, m: ReportedState, ops: StoreOp[]): Promise<void> {
    if (m.name !== node || m.namespace !== '') throw new Refused(`a node reports only its own status (Node "${node}")`, [{ path: 'name', reason: `must be "${node}" (the sender)` }]);
    const r = nodeReportedStatusSchema.safeParse(m.status);
    if (!r.success) throw new Refused('malformed node status', toFieldIssues(r.error, 'status'));
    const report = r.data;
    const sys = nodeSystemStatus(report);
    this.d.liveness.reported(node, { ...(report.runtime ? { runtime: report.runtime } : {}), ...(report.conditions ? { conditions: report.conditions } : {}) });
    const client = this.d.nodeClient(node);
    const patch = {
      metadata: {
        labels: nodeSystemLabels(node, report),
        annotations: {
          [NODE_ANNOTATIONS.appliedVersion]: String(report.appliedVersion || m.desiredVersion),
          [NODE_ANNOTATIONS.outbox]: `${report.outbox.rows} queued, ${report.outbox.dropped} dropped`,
          [NODE_ANNOTATIONS.lastError]: report.lastError ? report.lastError.slice(0, 1024) : null,
          // the mesh identity, only ever from the node's own report: what its peers authenticate it by
          [MESH_KEY_ANNOTATION]: report.mesh ? report.mesh.keySha256 : null,
          [MESH_PORT_ANNOTATION]: report.mesh ? String(report.mesh.port) : null,
        },
      },
      status: { nodeInfo: sys.nodeInfo, addresses: sys.addresses, capacity: sys.capacity, allocatable: sys.allocatable },
    };
    await client.patch(NODES, undefined, node, 'merge', patch, { subresource: 'status', alsoCommit: ops });
  }

  /** An OBJECT_EVENT from `reported/telemetry`: a core/v1 Event about an object bound to the node. */
  event(node: string, m: ReportedTelemetry): Promise<void> {
    return this.serial(node, `event on ${m.kind} ${m.namespace}/${m.name}`, async () => {
      const mark = await this.mark(node, m.stream === undefined ? undefined : `${m.stream}.events`, m.seq, String(m.seq));
      if (!mark) return;
      await this.marked(mark, async () => {
        const r = objectEventSchema.safeParse(m.data);
        if (!r.success) throw new Refused('malformed event', toFieldIssues(r.error, 'data'));
        const ev = r.data;
        const client = this.d.nodeClient(node);
        let involved: KubeObject;
        if (m.kind === 'Node') {
          if (m.name !== node) throw new Refused(`a node reports events only about its own Node (${node})`);
          const n = await client.find(NODES, undefined, node);
          if (!n) throw new Refused(`Node ${node} not found`);
          involved = n;
        } else if (m.kind === 'Pod' || m.kind === 'Device') {
          involved = await this.bound(client, m.kind === 'Pod' ? PODS : DEVICES, node, { namespace: m.namespace, name: m.name, uid: ev.uid });
        } else throw new Refused(`no events about kind ${m.kind} are taken from nodes`);
        await this.d.events.record(
          client,
          {
            involved: { apiVersion: involved.apiVersion, kind: involved.kind, name: involved.metadata.name ?? '', uid: involved.metadata.uid ?? '', ...(involved.metadata.namespace ? { namespace: involved.metadata.namespace } : {}) },
            type: ev.type,
            reason: ev.reason,
            message: ev.message,
            ...(ev.fieldPath ? { fieldPath: ev.fieldPath } : {}),
            component: ev.component ?? 'edgecore',
            host: node,
            at: new Date(m.timestamp),
          },
          mark.ops,
        );
        this.counters.applied++;
      });
    });
  }

  /** Resolves when every node's queued reports are done (tests, shutdown). */
  async idle(): Promise<void> {
    await Promise.all([...this.chains.values()].map((c) => c.tail));
  }
}
