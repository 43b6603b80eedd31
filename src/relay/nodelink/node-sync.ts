/**
 * The node sync, derived from the API's objects: a level-triggered controller over informers of
 * Pods, ConfigMaps, Secrets, Devices, DeviceModels, Services, EndpointSlices and Nodes that keeps, for every Node, the
 * desired document computed by desired.ts (with the Node's labels, which the node admits pods
 * against), and publishes it (retained, whole) when it changed —
 * and on start, on the node's `sync`, and after a broker reconnect, changed or not.
 *
 * Versions: a document's version is the object store's global revision of the change that
 * altered it — the newest revision this relay's informers have delivered when it is computed (not
 * a store read per document: at fleet size that was one PostgreSQL round trip per node and
 * change); on start every node's version is the store's current revision. Both only grow, across restarts too, and the epoch is the store's: a node orders the
 * documents it sees by (epoch, version) and ignores anything not newer.
 *
 * In a fleet of replicas each with its own embedded broker, a replica computes and publishes the
 * documents of the nodes on its broker only (`reaches`); a node that arrives gets its document
 * through the `sync` it sends on every connect.
 *
 * Only Nodes that exist get a document (a pod naming an unknown node creates no retained message);
 * a deleted Node's retained document is cleared. The relay also records `Scheduled` for a pod
 * created bound to a node (the scheduler records it for the pods it binds).
 */
import type { DesiredVersions } from '../../contract/api.js';
import type { KubeObject } from '../../contract/kube/types.js';
import type { DesiredDocument, DesiredItem } from '../../contract/payloads.js';
import { SYNCED_KINDS } from '../../contract/resources/kinds.js';
import type { Logger } from '../../core/logger.js';
import { stableStringify } from '../../lib/json.js';
import type { ApiClient } from '../apiserver/client.js';
import { Informer, keyOf } from '../controllers/informer.js';
import { WorkQueue } from '../controllers/queue.js';
import { mergeSorted, modelOf, nodeNameOf, ownItems, peerNode, podReferences, sharedItems } from './desired.js';
import type { EventRecorder } from './events.js';

const R = {
  pods: { group: '', resource: 'pods' },
  configmaps: { group: '', resource: 'configmaps' },
  secrets: { group: '', resource: 'secrets' },
  devices: { group: 'devices.kubeedge.io', resource: 'devices' },
  devicemodels: { group: 'devices.kubeedge.io', resource: 'devicemodels' },
  nodes: { group: '', resource: 'nodes' },
  services: { group: '', resource: 'services' },
  endpointslices: { group: 'discovery.k8s.io', resource: 'endpointslices' },
} as const;

/** The kinds a document carries (a kind absent from its items is emptied on the node). */
export const DOCUMENT_KINDS: readonly string[] = [...SYNCED_KINDS, 'Service', 'EndpointSlice', 'Node'];
type Watched = keyof typeof R;

export interface NodeSyncDeps {
  /** reads every kind, Secrets included (a controller identity) */
  client: ApiClient;
  /** publish a node's document retained (null: clear the retained document) */
  publish(node: string, doc: DesiredDocument | null): Promise<void>;
  /**
   * Whether a document published now reaches the node. A fleet of replicas each with its embedded
   * broker: only a node whose session is on this replica's broker. The others' documents wait
   * (not computed, not published) until the node arrives: it sends `sync` on every connect, and
   * that publishes its document here. Absent: every node (one broker, or a shared one).
   */
  reaches?(node: string): boolean;
  epoch(): Promise<string>;
  /** the object store's newest revision (read once, at start) */
  revision(): Promise<number>;
  events: EventRecorder;
  log: Logger;
  now: () => Date;
}

interface Published {
  version: number;
  hash: string;
  items: DesiredItem[];
}

/** how far above the store's revision a node's held version may be and still be honoured */
const HELD_SLACK = 1000;

export class NodeSync {
  private readonly informers = new Map<Watched, Informer>();
  private readonly queue: WorkQueue;
  /** Scheduled events being written (idle() waits for them too) */
  private readonly recording = new Set<Promise<void>>();
  private readonly docs = new Map<string, Published>();
  /** node → keys ("ns/name") of its pods / devices */
  private readonly podsOf = new Map<string, Set<string>>();
  private readonly devicesOf = new Map<string, Set<string>>();
  /** nodes whose document goes out even if unchanged (start, sync request, broker reconnect) */
  private readonly force = new Set<string>();
  /** nodes whose document changed (or never went out) while it could not reach them (`reaches`) */
  private readonly unsent = new Set<string>();
  /** a node's applied version above this replica's own (it came from another replica): node → version */
  private readonly heldAbove = new Map<string, number>();
  /** what every document shares (Services, EndpointSlices, peer Nodes) and its serialisation; undefined: to be computed */
  private shared: { items: DesiredItem[]; hash: string } | undefined;
  private epochValue = '';
  private started = false;
  /** the store's revision when the informers had listed (start) */
  private listed = 0;
  readonly counters = { published: 0, computed: 0 };

  constructor(private readonly d: NodeSyncDeps) {
    this.queue = new WorkQueue((node) => this.sync(node), d.log);
    for (const w of Object.keys(R) as Watched[]) {
      const inf = new Informer(d.client, R[w], d.log.child(w));
      inf.onChange((key, obj, old) => this.changed(w, key, obj, old));
      this.informers.set(w, inf);
    }
  }

  async start(): Promise<void> {
    this.epochValue = await this.d.epoch();
    for (const inf of this.informers.values()) await inf.start();
    // at least what every informer listed: documents made after a restart number above all before it
    this.listed = await this.d.revision();
    this.started = true;
    this.republishAll();
  }

  stop(): void {
    for (const inf of this.informers.values()) inf.stop();
    this.queue.stop();
  }

  async idle(): Promise<void> {
    await this.queue.idle();
    await Promise.all([...this.recording]);
  }

  /**
   * A node's sync request says it holds (epoch, version). In a fleet each replica numbers its
   * documents by the store's revision when it computed them, so a node that moved from another
   * replica may hold a higher number for the same (or an older) content: this replica's next
   * document for it then goes out numbered above that, or the node would ignore it as not newer.
   */
  noteHeld(node: string, epoch: string, appliedVersion: number): void {
    if (epoch === this.epochValue && appliedVersion > this.desiredVersion(node)) this.heldAbove.set(node, appliedVersion);
  }

  /** Send `node` its current document now, changed or not (its `sync` request). */
  requestPublish(node: string): void {
    this.force.add(node);
    this.queue.add(node);
  }

  /** Every node's document again (start, broker reconnect: the broker may have lost them). */
  republishAll(): void {
    for (const n of this.nodeNames()) {
      if (this.reached(n)) this.requestPublish(n);
      else this.unsent.add(n);
    }
  }

  private reached(node: string): boolean {
    return !this.d.reaches || this.d.reaches(node);
  }

  /**
   * The node already holds the document last published for it: a sync request needs no answer
   * (after a reconnect it got the retained one anyway, so a reconnect storm costs one document
   * per node, not two).
   */
  holdsCurrent(node: string, epoch: string, appliedVersion: number): boolean {
    const v = this.desiredVersion(node);
    return v > 0 && epoch === this.epochValue && appliedVersion === v && !this.unsent.has(node);
  }

  /** The version of the last document published for `node` (0: none). */
  desiredVersion(node: string): number {
    return this.docs.get(node)?.version ?? 0;
  }

  /** The version of the last document published for every node, with the epoch (GET /edge/v1/desired). */
  publishedVersions(): DesiredVersions {
    const nodes: Record<string, number> = {};
    for (const [n, p] of this.docs) nodes[n] = p.version;
    return { epoch: this.epochValue, nodes };
  }

  /** The newest revision the informers have delivered (a change's document is numbered at least by that change). */
  private seen(): number {
    let m = this.listed;
    for (const inf of this.informers.values()) m = Math.max(m, inf.revision());
    return m;
  }

  private inf(w: Watched): Informer {
    return this.informers.get(w)!;
  }

  private nodeNames(): string[] {
    return this.inf('nodes')
      .list()
      .map((n) => n.metadata.name ?? '');
  }

  private index(map: Map<string, Set<string>>, key: string, obj: KubeObject | undefined, old: KubeObject | undefined): string[] {
    const before = old ? nodeNameOf(old) : '';
    const after = obj ? nodeNameOf(obj) : '';
    if (before && before !== after) map.get(before)?.delete(key);
    if (after) {
      let s = map.get(after);
      if (!s) map.set(after, (s = new Set()));
      s.add(key);
    }
    return [...new Set([before, after])].filter(Boolean);
  }

  /** Which nodes' documents a change may alter. */
  private changed(w: Watched, key: string, obj: KubeObject | undefined, old: KubeObject | undefined): void {
    let nodes: string[] = [];
    if (w === 'pods') {
      nodes = this.index(this.podsOf, key, obj, old);
      // a pod created bound to a node (the scheduler records Scheduled for the pods it binds)
      if (obj && !old && nodeNameOf(obj) && this.started && !obj.metadata.deletionTimestamp) {
        const p = this.scheduled(obj).finally(() => this.recording.delete(p));
        this.recording.add(p);
      }
    } else if (w === 'devices') nodes = this.index(this.devicesOf, key, obj, old);
    // a Node's labels are its own document's; its mesh key and addresses are in every node's
    // (peerNode) — only a change of those reaches every node: a status write (heartbeats,
    // conditions) recomputes one document, not all of them (N² at fleet size)
    else if (w === 'nodes') {
      const peers = peerChanged(obj, old);
      if (peers) this.shared = undefined;
      nodes = peers ? this.nodeNames().concat(obj ? [] : [old!.metadata.name ?? '']) : [(obj ?? old)!.metadata.name ?? ''];
    } else if (w === 'services' || w === 'endpointslices') {
      this.shared = undefined;
      nodes = this.nodeNames();
    }
    else {
      const o = (obj ?? old)!;
      const ns = o.metadata.namespace ?? '';
      const name = o.metadata.name ?? '';
      if (w === 'devicemodels') {
        for (const [node, keys] of this.devicesOf) {
          if ([...keys].some((k) => k.startsWith(`${ns}/`) && this.inf('devices').get(k) && modelOf(this.inf('devices').get(k)!) === name)) nodes.push(node);
        }
      } else {
        const kind = w === 'configmaps' ? 'configMaps' : 'secrets';
        for (const [node, keys] of this.podsOf) {
          if ([...keys].some((k) => k.startsWith(`${ns}/`) && this.inf('pods').get(k) && podReferences(this.inf('pods').get(k)!)[kind].has(name))) nodes.push(node);
        }
      }
    }
    for (const n of nodes) this.queue.add(n);
  }

  private objects(map: Map<string, Set<string>>, w: Watched, node: string): KubeObject[] {
    const inf = this.inf(w);
    return [...(map.get(node) ?? [])].map((k) => inf.get(k)).filter((o): o is KubeObject => !!o);
  }

  private async sync(node: string): Promise<void> {
    if (!this.started) return;
    const forced = this.force.delete(node);
    const prev = this.docs.get(node);
    const nodeObj = this.inf('nodes').get(`/${node}`);
    if (!nodeObj) {
      // a deleted Node: its retained document goes too
      this.unsent.delete(node);
      if (prev) {
        this.docs.delete(node);
        await this.d.publish(node, null);
      }
      return;
    }
    // a node this replica cannot reach now gets its document when it arrives (its sync forces it)
    if (!forced && !this.reached(node)) {
      this.unsent.add(node);
      return;
    }
    this.unsent.delete(node);
    const look = (w: Watched) => (ns: string, name: string) => this.inf(w).get(`${ns}/${name}`);
    const own = ownItems({
      pods: this.objects(this.podsOf, 'pods', node),
      devices: this.objects(this.devicesOf, 'devices', node),
      configMap: look('configmaps'),
      secret: look('secrets'),
      deviceModel: look('devicemodels'),
    });
    const shared = this.sharedPart();
    const items = mergeSorted(own, shared.items);
    this.counters.computed++;
    const labels = nodeObj.metadata.labels ?? {};
    const hash = `${stableStringify({ items: own, labels })}\n${shared.hash}`;
    let version: number;
    const seen = this.seen();
    if (!prev) version = seen;
    else if (prev.hash !== hash) version = Math.max(seen, prev.version + 1);
    else if (forced) version = prev.version;
    else return;
    const held = this.heldAbove.get(node);
    if (held !== undefined) {
      this.heldAbove.delete(node);
      // a number from another replica is at most a little above the store's revision (each move
      // adds one); a node claiming more is not believed (it would only skew its own numbering)
      if (held >= version && held <= seen + HELD_SLACK) version = held + 1;
    }
    const cur: Published = { version, hash, items };
    this.docs.set(node, cur);
    const doc: DesiredDocument = { node, epoch: this.epochValue, version, kinds: [...DOCUMENT_KINDS], items, labels, timestamp: this.d.now().getTime() };
    this.counters.published++;
    await this.d.publish(node, doc);
    if (!prev || prev.hash !== hash) this.d.log.debug('desired document published', { node, version, items: items.length });
  }

  /** The shared part of every document, computed once after each change of it (not per node). */
  private sharedPart(): { items: DesiredItem[]; hash: string } {
    if (!this.shared) {
      const items = sharedItems({ services: this.inf('services').list(), endpointSlices: this.inf('endpointslices').list(), nodes: this.inf('nodes').list() });
      this.shared = { items, hash: stableStringify(items) };
    }
    return this.shared;
  }

  /** `Scheduled`, as the scheduler records it, for a pod that was created bound to a node. */
  private async scheduled(pod: KubeObject): Promise<void> {
    const node = nodeNameOf(pod);
    try {
      await this.d.events.record(this.d.client, {
        involved: { apiVersion: 'v1', kind: 'Pod', namespace: pod.metadata.namespace ?? 'default', name: pod.metadata.name ?? '', uid: pod.metadata.uid ?? '' },
        type: 'Normal',
        reason: 'Scheduled',
        message: `Successfully assigned ${pod.metadata.namespace ?? 'default'}/${pod.metadata.name ?? ''} to ${node}`,
        component: 'default-scheduler',
        at: this.d.now(),
      });
    } catch (e) {
      this.d.log.warn('could not record Scheduled', { pod: keyOf(pod), error: e instanceof Error ? e.message : String(e) });
    }
  }
}

/** Whether what peers receive of a Node (peerNode: its mesh key, port, addresses) differs. */
function peerChanged(obj: KubeObject | undefined, old: KubeObject | undefined): boolean {
  const a = obj ? peerNode(obj) : undefined;
  const b = old ? peerNode(old) : undefined;
  if (!a && !b) return false;
  return !a || !b || stableStringify(a) !== stableStringify(b);
}
