/**
 * The endpoint controller: keeps every selecting Service's EndpointSlices and its v1 Endpoints
 * object as endpoints-plan.ts computes them, through the API with its own identity. Informers on
 * Services, Pods, Nodes and the managed slices; a change enqueues the Services it may touch (a
 * pod: the Services of its namespace that select it before or after; a node: the Services with
 * pods on it, when its readiness changed). Level-triggered: each pass reads the Service's world
 * as the caches hold it now, so a restart rebuilds everything from a list.
 */
import type { KubeObject } from '../../contract/kube/types.js';
import { ENDPOINTSLICE_CONTROLLER, LABEL_MANAGED_BY, LABEL_SERVICE_NAME } from '../../contract/resources/service.js';
import type { Logger } from '../../core/logger.js';
import type { ApiClient } from '../apiserver/client.js';
import { rec, str } from '../kinds/common.js';
import { nodeReady, planEndpoints, sameEndpoints, selects } from './endpoints-plan.js';
import { Informer, keyOf } from './informer.js';
import { WorkQueue } from './queue.js';

const R = {
  services: { group: '', resource: 'services' },
  pods: { group: '', resource: 'pods' },
  nodes: { group: '', resource: 'nodes' },
  slices: { group: 'discovery.k8s.io', resource: 'endpointslices' },
  endpoints: { group: '', resource: 'endpoints' },
} as const;

const ignore = (codes: number[]) => (e: unknown) => {
  if (!codes.includes((e as { code?: number }).code ?? 0)) throw e;
};

export class EndpointController {
  private readonly services: Informer;
  private readonly pods: Informer;
  private readonly nodes: Informer;
  private readonly slices: Informer;
  private readonly queue: WorkQueue;

  constructor(
    private readonly client: ApiClient,
    private readonly log: Logger,
  ) {
    this.services = new Informer(client, R.services, log.child('services'));
    this.pods = new Informer(client, R.pods, log.child('pods'));
    this.nodes = new Informer(client, R.nodes, log.child('nodes'));
    this.slices = new Informer(client, R.slices, log.child('slices'));
    this.queue = new WorkQueue((k) => this.sync(k), log);
    this.services.onChange((key) => this.queue.add(key));
    this.pods.onChange((_k, obj, old) => this.podChanged(obj, old));
    this.nodes.onChange((_k, obj, old) => {
      if (nodeReady(obj) !== nodeReady(old)) this.nodeChanged((obj ?? old)!.metadata.name ?? '');
    });
    this.slices.onChange((_k, obj, old) => {
      const o = (obj ?? old)!;
      if (o.metadata.labels?.[LABEL_MANAGED_BY] !== ENDPOINTSLICE_CONTROLLER) return;
      const svc = o.metadata.labels?.[LABEL_SERVICE_NAME];
      if (svc) this.queue.add(`${o.metadata.namespace ?? 'default'}/${svc}`);
    });
  }

  async start(): Promise<void> {
    await this.nodes.start();
    await this.pods.start();
    await this.slices.start();
    await this.services.start();
  }

  stop(): void {
    for (const i of [this.services, this.pods, this.nodes, this.slices]) i.stop();
    this.queue.stop();
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  private podChanged(obj: KubeObject | undefined, old: KubeObject | undefined): void {
    for (const svc of this.services.list()) {
      if ((obj && selects(svc, obj)) || (old && selects(svc, old))) this.queue.add(keyOf(svc));
    }
  }

  private nodeChanged(node: string): void {
    const onNode = this.pods.list().filter((p) => str(rec(p.spec)?.nodeName) === node);
    for (const svc of this.services.list()) if (onNode.some((p) => selects(svc, p))) this.queue.add(keyOf(svc));
  }

  private async sync(key: string): Promise<void> {
    const [ns, name] = key.split('/') as [string, string];
    const svc = this.services.get(key);
    // read from the API, not the cache: a slice this controller just created may not be there yet
    const existing = (await this.client.list(R.slices, ns, { labelSelector: `${LABEL_SERVICE_NAME}=${name},${LABEL_MANAGED_BY}=${ENDPOINTSLICE_CONTROLLER}` })).items;
    const pods = this.pods.list().filter((p) => (p.metadata.namespace ?? 'default') === ns);
    const plan = planEndpoints(svc, pods, (n) => this.nodes.get(`/${n}`), existing);
    for (const s of plan.slices) {
      if (s.op === 'create') await this.client.create(R.slices, s.object);
      else if (s.op === 'update') await this.client.update(R.slices, s.object);
      else await this.client.delete(R.slices, ns, s.name, { preconditions: { uid: s.uid } }).catch(ignore([404, 409]));
    }
    const cur = await this.client.find(R.endpoints, ns, name);
    if (!plan.endpoints) {
      if (cur && !svc) await this.client.delete(R.endpoints, ns, name).catch(ignore([404]));
      return;
    }
    if (!cur) await this.client.create(R.endpoints, plan.endpoints).catch(ignore([409]));
    else if (!sameEndpoints(cur, plan.endpoints)) {
      const { subsets: _old, ...rest } = cur;
      await this.client.update(R.endpoints, { ...rest, ...plan.endpoints, metadata: { ...cur.metadata, labels: plan.endpoints.metadata.labels ?? {} } });
    }
    if (plan.slices.length) this.log.debug('endpoints synced', { service: key, changes: plan.slices.length });
  }
}
