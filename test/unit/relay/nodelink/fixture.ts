/**
 * The node link over a real API core and SQLite stores (in a temp dir), with a recording
 * transport standing in for the broker (named as the fake it is: the integration suites run the
 * real brokers). Time is the fixture's clock.
 */
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { KubeObject } from '../../../../src/contract/kube/types.js';
import type { DesiredDocument, ReportedState, ReportedTelemetry } from '../../../../src/contract/payloads.js';
import { parseNodeTopic, topics } from '../../../../src/contract/topics.js';
import { createLogger } from '../../../../src/core/logger.js';
import type { RelayTransport } from '../../../../src/relay/broker/transport.js';
import { parseRelayConfig } from '../../../../src/relay/config.js';
import { NodeLink, type NodeLinkDeps } from '../../../../src/relay/nodelink/index.js';
import { RpcRouter } from '../../../../src/relay/rpc.js';
import { SqliteCredentialStore } from '../../../../src/relay/store/credentials-sqlite.js';
import { SqliteRelayStore } from '../../../../src/relay/store/sqlite.js';
import { tmpDir } from '../../../helpers/tmp.js';
import { fixture, type Fixture } from '../apiserver/fixture.js';

export const log = createLogger({ level: 'silent', format: 'json' }, 'test');

/** A transport that records what the relay publishes (no broker). */
export class RecordingTransport implements RelayTransport {
  readonly kind = 'embedded' as const;
  readonly published: { topic: string; payload: string; retain: boolean }[] = [];
  readonly disconnected: string[] = [];
  async start(): Promise<void> {}
  async publish(topic: string, payload: Buffer | string, opts: { retain: boolean }): Promise<void> {
    this.published.push({ topic, payload: payload.toString(), retain: opts.retain });
  }
  endpoints(): Record<string, string> {
    return {};
  }
  disconnect(node: string): void {
    this.disconnected.push(node);
  }
  async stop(): Promise<void> {}

  /** the documents published for `node`, oldest first (null: the retained document was cleared) */
  docs(node: string): (DesiredDocument | null)[] {
    return this.published.filter((p) => p.topic === topics.desired(node)).map((p) => (p.payload ? (JSON.parse(p.payload) as DesiredDocument) : null));
  }

  last(node: string): DesiredDocument | null | undefined {
    return this.docs(node).at(-1);
  }
}

export interface LinkFixture extends Fixture {
  link: NodeLink;
  relay: SqliteRelayStore;
  transport: RecordingTransport;
  /** join a node: its Node object and its credentials */
  join(node: string): Promise<void>;
  /** what a node sends, as the wire carries it */
  send(node: string, channel: 'reported/state' | 'reported/telemetry' | 'heartbeat' | 'presence' | 'sync', body: unknown): Promise<void>;
  /** a fresh link over the same stores (a relay restart) */
  restart(): Promise<NodeLink>;
}

/** `deps`: more of the link's dependencies (e.g. `reaches`) */
export async function linkFixture(t: TestContext, nodes: Record<string, unknown> = {}, deps: Partial<NodeLinkDeps> = {}): Promise<LinkFixture> {
  const f = await fixture();
  const relay = SqliteRelayStore.open(join(tmpDir(t), 'relay.db'));
  const transport = new RecordingTransport();
  const make = (): NodeLink =>
    new NodeLink({ core: f.core, objects: f.store, store: relay, credentials: new SqliteCredentialStore(relay), transport, rpc: new RpcRouter(transport), nodes: parseRelayConfig({ nodes }).nodes, log, now: () => f.clock.now, ...deps });
  let link = make();
  t.after(() => {
    link.stop();
    relay.close();
  });
  await link.start();
  const out: LinkFixture = {
    ...f,
    get link() {
      return link;
    },
    relay,
    transport,
    async join(node) {
      await link.ensureNode(node, {});
      relay.upsertNode(node, 'hash', {}, f.clock.now);
      link.joined(node);
      await link.idle();
    },
    async send(node, channel, body) {
      const t = parseNodeTopic(topics.nodeRoot(node) + '/' + channel)!;
      await link.handle(node, t.channel, Buffer.from(JSON.stringify(body)));
      await link.idle();
    },
    async restart() {
      link.stop();
      link = make();
      await link.start();
      await link.idle();
      return link;
    },
  };
  return out;
}

export const POD = { group: '', resource: 'pods' };
export const SECRET = { group: '', resource: 'secrets' };
export const NODE = { group: '', resource: 'nodes' };
export const EVENT = { group: '', resource: 'events' };
export const DEVICE = { group: 'devices.kubeedge.io', resource: 'devices' };
export const MODEL = { group: 'devices.kubeedge.io', resource: 'devicemodels' };

export const pod = (name: string, node: string, spec: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default' },
  spec: { nodeName: node, containers: [{ name: 'c', image: 'busybox:1' }], ...spec },
});

export const secret = (name: string, v = 'x'): KubeObject => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'default' }, stringData: { v } }) as KubeObject;

let seq = 0;
/** A report as edgehub sends it (stamped with a stream and the next sequence number). */
export function state(kind: string, namespace: string, name: string, status: unknown, extra: Partial<ReportedState> = {}): ReportedState {
  return { kind, namespace, name, status, desiredVersion: 1, timestamp: Date.UTC(2026, 0, 1), stream: 'stream-1', seq: ++seq, ...extra };
}

export function telemetry(kind: string, namespace: string, name: string, event: string, data: unknown, extra: Partial<ReportedTelemetry> = {}): ReportedTelemetry {
  return { kind, namespace, name, event, data, desiredVersion: 1, timestamp: Date.UTC(2026, 0, 1), stream: 'stream-1', seq: ++seq, ...extra };
}
