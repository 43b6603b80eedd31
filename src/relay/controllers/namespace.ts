/**
 * Namespace lifecycle. `default` always exists. A namespace being deleted (deletionTimestamp and
 * the `kubernetes` finalizer) is marked Terminating, everything it holds is deleted through the
 * API (pods wait for their nodes as any delete does), and once nothing is left the finalizer goes
 * and with it the namespace. Level-triggered: each pass looks at the namespace as it is now.
 */
import type { KubeObject } from '../../contract/kube/types.js';
import type { Logger } from '../../core/logger.js';
import { PROTECTED_NAMESPACES } from '../apiserver/admission.js';
import type { ApiClient } from '../apiserver/client.js';
import { NAMESPACE_FINALIZER } from '../kinds/namespace.js';
import type { ResourceDef } from '../kinds/types.js';
import { Informer } from './informer.js';
import { WorkQueue } from './queue.js';

const NAMESPACES = { group: '', resource: 'namespaces' };

export class NamespaceController {
  private readonly informer: Informer;
  private readonly queue: WorkQueue;

  constructor(
    private readonly client: ApiClient,
    /** every namespaced kind (what a namespace can hold) */
    private readonly kinds: () => readonly ResourceDef[],
    private readonly log: Logger,
    /** how soon a namespace that still holds objects is looked at again */
    private readonly recheckMs = 500,
  ) {
    this.informer = new Informer(client, NAMESPACES, log);
    this.queue = new WorkQueue((k) => this.sync(k), log);
    this.informer.onChange((key, obj) => {
      if (obj?.metadata.deletionTimestamp) this.queue.add(key);
    });
  }

  /** Make sure the namespaces the system needs exist (`default`). */
  async ensureDefaults(): Promise<void> {
    for (const name of PROTECTED_NAMESPACES.slice(0, 1)) {
      if (await this.client.find(NAMESPACES, undefined, name)) continue;
      try {
        await this.client.create(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
        this.log.info('namespace created', { namespace: name });
      } catch (e) {
        if ((e as { code?: number }).code !== 409) throw e;
      }
    }
  }

  async start(): Promise<void> {
    await this.ensureDefaults();
    await this.informer.start();
  }

  stop(): void {
    this.informer.stop();
    this.queue.stop();
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  private async sync(key: string): Promise<void> {
    const name = key.slice(key.indexOf('/') + 1);
    const ns = await this.client.find(NAMESPACES, undefined, name);
    if (!ns?.metadata.deletionTimestamp || !(ns.metadata.finalizers ?? []).includes(NAMESPACE_FINALIZER)) return;
    let current: KubeObject = ns;
    if ((ns.status as { phase?: string } | undefined)?.phase !== 'Terminating') {
      current = await this.client.updateStatus(NAMESPACES, { ...ns, status: { ...((ns.status as object) ?? {}), phase: 'Terminating' } });
    }
    let remaining = 0;
    for (const def of this.kinds()) {
      if (!def.namespaced) continue;
      const list = await this.client.list(def, name);
      for (const o of list.items) {
        remaining++;
        if (o.metadata.deletionTimestamp) continue;
        try {
          await this.client.delete(def, name, o.metadata.name ?? '', { propagationPolicy: 'Background', preconditions: { uid: o.metadata.uid ?? '' } });
        } catch (e) {
          if ((e as { code?: number }).code !== 404 && (e as { code?: number }).code !== 409) throw e;
        }
      }
    }
    if (remaining) {
      // deletes that wait (a pod for its node, an object for its finalizers) are looked at again
      let left = 0;
      for (const def of this.kinds()) if (def.namespaced) left += (await this.client.list(def, name)).items.length;
      if (left) return this.queue.after(key, this.recheckMs);
    }
    const finalizers = (current.metadata.finalizers ?? []).filter((f) => f !== NAMESPACE_FINALIZER);
    await this.client.update(NAMESPACES, { ...current, metadata: { ...current.metadata, finalizers } });
    this.log.info('namespace emptied and removed', { namespace: name });
  }
}
