/**
 * The relay's Prometheus metrics (prom-client): the API's requests by verb, group, resource and
 * code with their latency (kube-apiserver's `apiserver_request_total` and
 * `apiserver_request_duration_seconds`, fewer labels), the nodes connected, and the node link's
 * messages in and out by channel with what it dropped. Label values come only from fixed sets
 * (verbs, the registered resources, contract channels), so no client or node can grow the series.
 * Served at GET /metrics on the API listener to the admin and read-only tokens (docs/relay.md).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import client from 'prom-client';
import { requestInfo } from '../contract/kube/request.js';
import type { NodeChannel } from '../contract/topics.js';
import type { RelayTransport } from './broker/transport.js';

/** Requests that stay open (watches, log follows, exec): counted, not timed (as kube-apiserver's SLI leaves them out). */
const LONG_SUBRESOURCES = new Set(['log', 'exec', 'attach', 'portforward', 'proxy']);

const HTTP_METHODS = new Set(['get', 'head', 'post', 'put', 'patch', 'delete', 'options']);

export interface RelayMetricsDeps {
  /** is this group/resource one the API serves (else its label is "other") */
  known(group: string, resource: string): boolean;
  nodesConnected(): number;
  /** the node link's ingress counters */
  dropped(): { rejected: number; limited: number; duplicates: number };
  /** seconds on a monotonic clock */
  clock?: () => number;
}

export class RelayMetrics {
  readonly registry = new client.Registry();
  private readonly requests: client.Counter<'verb' | 'group' | 'resource' | 'code'>;
  private readonly latency: client.Histogram<'verb' | 'group' | 'resource'>;
  private readonly received: client.Counter<'channel'>;
  private readonly sent: client.Counter<'channel'>;
  private readonly clock: () => number;

  constructor(private readonly d: RelayMetricsDeps) {
    const registers = [this.registry];
    this.clock = d.clock ?? (() => performance.now() / 1000);
    this.requests = new client.Counter({ name: 'apiserver_request_total', help: 'Kubernetes API requests answered, by verb, group, resource and HTTP code.', labelNames: ['verb', 'group', 'resource', 'code'], registers });
    this.latency = new client.Histogram({
      name: 'apiserver_request_duration_seconds',
      help: 'Kubernetes API request latency (long-running requests excluded), by verb, group and resource.',
      labelNames: ['verb', 'group', 'resource'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.received = new client.Counter({ name: 'edgerelay_node_messages_received_total', help: 'Messages received from nodes, by channel.', labelNames: ['channel'], registers });
    this.sent = new client.Counter({ name: 'edgerelay_node_messages_sent_total', help: 'Messages published to nodes, by channel.', labelNames: ['channel'], registers });
    new client.Gauge({
      name: 'edgerelay_nodes_connected',
      help: 'Joined nodes that are online (presence and heartbeats).',
      registers,
      collect() {
        this.set(d.nodesConnected());
      },
    });
    new client.Counter({
      name: 'edgerelay_node_messages_dropped_total',
      help: 'Messages from nodes the link dropped, by reason (rejected: malformed or oversized; limited: over the telemetry rate; duplicate: already stored).',
      labelNames: ['reason'],
      registers,
      collect() {
        const c = d.dropped();
        this.reset();
        this.inc({ reason: 'rejected' }, c.rejected);
        this.inc({ reason: 'limited' }, c.limited);
        this.inc({ reason: 'duplicate' }, c.duplicates);
      },
    });
    // two of prom-client's process metrics, not its default set: that one names gauges `_total`, which promtool's lint refuses
    new client.Gauge({
      name: 'process_resident_memory_bytes',
      help: 'Resident memory size in bytes.',
      registers,
      collect() {
        this.set(process.memoryUsage.rss());
      },
    });
    new client.Counter({
      name: 'process_cpu_seconds_total',
      help: 'Total user and system CPU time spent in seconds.',
      registers,
      collect() {
        const u = process.cpuUsage();
        this.reset();
        this.inc((u.user + u.system) / 1e6);
      },
    });
  }

  /** Count and time one API request (labels from its URL, the code when it is answered). */
  observe(req: IncomingMessage, res: ServerResponse): void {
    const start = this.clock();
    const l = this.labels(req);
    res.once('finish', () => {
      this.requests.inc({ verb: l.verb, group: l.group, resource: l.resource, code: String(res.statusCode) });
      if (!l.long) this.latency.observe({ verb: l.verb, group: l.group, resource: l.resource }, this.clock() - start);
    });
  }

  /** A request's labels; never throws (a URL the API refuses, e.g. bad percent-encoding, is a non-resource request here). */
  private labels(req: IncomingMessage): { verb: string; group: string; resource: string; long: boolean } {
    const method = (req.method ?? 'GET').toLowerCase();
    const plain = { verb: HTTP_METHODS.has(method) ? method : 'other', group: '', resource: '', long: false };
    let info: ReturnType<typeof requestInfo>;
    try {
      const url = new URL(req.url ?? '/', 'http://relay');
      info = requestInfo(req.method ?? 'GET', url.pathname, url.searchParams);
    } catch {
      return plain;
    }
    // non-resource paths (discovery, OpenAPI, /version, joins): the HTTP method, from a fixed set
    if (info.type !== 'resource') return plain;
    const known = this.d.known(info.group, info.resource);
    const long = info.verb === 'watch' || (!!info.subresource && LONG_SUBRESOURCES.has(info.subresource));
    return { verb: info.verb, group: known ? info.group : 'other', resource: known ? info.resource : 'other', long };
  }

  /** The transport, with each publish counted by channel (everything else passed through). */
  countPublishes(t: RelayTransport, channelOf: (topic: string) => NodeChannel | undefined): RelayTransport {
    return {
      kind: t.kind,
      start: (onMessage, onConnect) => t.start(onMessage, onConnect),
      publish: (topic, payload, opts) => {
        this.sent.inc({ channel: channelOf(topic) ?? 'other' });
        return t.publish(topic, payload, opts);
      },
      endpoints: () => t.endpoints(),
      ...(t.disconnect ? { disconnect: (node: string) => t.disconnect!(node) } : {}),
      stop: () => t.stop(),
    };
  }

  /** A message from a node (the transport's handler). */
  countReceived(channel: NodeChannel): void {
    this.received.inc({ channel });
  }

  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
