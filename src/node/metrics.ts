/**
 * The daemon's metrics, kept as plain numbers where they happen (a counter bump is a Map
 * lookup and an add) and turned into the Prometheus exposition only when scraped (ops.ts
 * loads prom-client then). The catalogue below is every metric there is: a module counts only
 * names it lists, with their label names, so `/metrics` is the same set on every node.
 */
export const METRICS = {
  module_up: { type: 'gauge', help: 'Whether the module runs (1) or not (0), by module.', labels: ['module'] },
  module_restarts_total: { type: 'counter', help: 'Restarts of the module by the supervisor since the daemon started.', labels: ['module'] },
  outbox_rows: { type: 'gauge', help: 'Messages queued in the outbox for the relay.', labels: [] },
  outbox_dropped_total: { type: 'counter', help: 'Telemetry rows dropped from the outbox over its bounds, since the store was made.', labels: [] },
  app_outbox_rows: { type: 'gauge', help: "Apps' messages queued in the outbox for the relay.", labels: [] },
  app_outbox_bytes: { type: 'gauge', help: "Bytes of apps' messages queued in the outbox.", labels: [] },
  app_outbox_dropped_total: { type: 'counter', help: "Apps' messages dropped over the outbox's app bound, since the store was made.", labels: [] },
  app_messages_total: { type: 'counter', help: "Apps' messages offered to the uplink, by source (mqtt, http) and result (queued, duplicate, too-large, dropped, not-forwarded, invalid-topic).", labels: ['source', 'result'] },
  app_downlink_total: { type: 'counter', help: 'Downlink messages for apps, by target (eventbus, servicebus) and outcome (delivered, expired, failed, duplicate).', labels: ['target', 'outcome'] },
  reconcile_passes_total: { type: 'counter', help: "edged's reconcile passes that ran (ok) or could not reach the engine (failed), and pods' step runs that failed (step_errors).", labels: ['result'] },
  driver_reads_total: { type: 'counter', help: 'Driver reads of a device property, by device.', labels: ['namespace', 'device'] },
  driver_errors_total: { type: 'counter', help: 'Failed driver reads and writes, by device.', labels: ['namespace', 'device'] },
  mqtt_messages_received_total: { type: 'counter', help: 'MQTT messages received, by link (relay: the uplink; eventbus: the node-local broker).', labels: ['link'] },
  mqtt_messages_sent_total: { type: 'counter', help: 'MQTT messages sent, by link.', labels: ['link'] },
  metaserver_requests_total: { type: 'counter', help: 'MetaServer requests, by verb and HTTP code.', labels: ['verb', 'code'] },
  metaserver_watchers: { type: 'gauge', help: 'MetaServer watches open.', labels: [] },
  node_status_samples_total: { type: 'counter', help: 'Node status samples taken.', labels: [] },
  node_status_reports_total: { type: 'counter', help: 'Node status reports queued upstream (only changes go up).', labels: [] },
  mesh_connections_total: { type: 'counter', help: 'Connections (and UDP flows) the mesh proxy took, by path (local; direct: a peer node over the LAN; none: no endpoint could be reached) and protocol.', labels: ['path', 'protocol'] },
  mesh_bytes_total: { type: 'counter', help: 'Bytes the mesh proxy carried, by path and direction (out: client to endpoint).', labels: ['path', 'direction'] },
  mesh_dial_failures_total: { type: 'counter', help: 'Dials to an endpoint that failed (the connection then tried another), by path.', labels: ['path'] },
  mesh_dns_queries_total: { type: 'counter', help: "DNS queries the node's cluster DNS answered, by answer (cluster, forwarded, failed, malformed).", labels: ['answer'] },
  mesh_peer_sessions: { type: 'gauge', help: 'Peer nodes connected now (direct).', labels: ['path'] },
  mesh_peer_streams_total: { type: 'counter', help: "Connections peers opened to this node's endpoints, by result (accepted, refused: not an endpoint here or an unknown key).", labels: ['result'] },
} as const;

export type MetricName = keyof typeof METRICS;
type LabelsOf<N extends MetricName> = { [K in (typeof METRICS)[N]['labels'][number]]: string };
export type Sample = { labels: Record<string, string>; value: number };

type Read = () => number | Sample[];

export class NodeMetrics {
  private readonly counters = new Map<MetricName, Map<string, Sample>>();
  private readonly gauges = new Map<MetricName, Read>();
  private readonly groups: { names: readonly MetricName[]; read: () => Partial<Record<MetricName, number | Sample[]>> }[] = [];

  /** `enabled: false`: counting is a no-op (the metrics endpoint is off). */
  constructor(readonly enabled: boolean) {}

  count<N extends MetricName>(name: N, labels: LabelsOf<N>, n = 1): void {
    if (!this.enabled) return;
    let series = this.counters.get(name);
    if (!series) this.counters.set(name, (series = new Map()));
    const key = Object.values(labels as Record<string, string>).join('\u0000');
    const s = series.get(key);
    if (s) s.value += n;
    else series.set(key, { labels: { ...(labels as Record<string, string>) }, value: n });
  }

  /**
   * A counter's series as a function that bumps it: for hot paths (a device's reads, the relay
   * link's packets), where `count` would build its label object and series key on every call.
   * The series appears at its first bump, as with `count`.
   */
  counter<N extends MetricName>(name: N, labels: LabelsOf<N>): (n?: number) => void {
    if (!this.enabled) return () => undefined;
    const key = Object.values(labels as Record<string, string>).join('\u0000');
    let s: Sample | undefined;
    return (n = 1) => {
      if (!s) {
        let series = this.counters.get(name);
        if (!series) this.counters.set(name, (series = new Map()));
        s = series.get(key);
        if (!s) series.set(key, (s = { labels: { ...(labels as Record<string, string>) }, value: 0 }));
      }
      s.value += n;
    };
  }

  /** A value read at scrape time (a gauge, or a counter kept elsewhere, e.g. the supervisor's restarts). */
  gauge(name: MetricName, read: Read): void {
    if (this.enabled) this.gauges.set(name, read);
  }

  /** Several values that one read gives (e.g. the outbox's counts: one query), read once per scrape. */
  gaugeGroup<N extends MetricName>(names: readonly N[], read: () => Record<N, number | Sample[]>): void {
    if (this.enabled) this.groups.push({ names, read });
  }

  /** Every series of every metric now, each read once (what one scrape renders). A failing read leaves its metrics empty. */
  snapshot(): Map<MetricName, Sample[]> {
    const out = new Map<MetricName, Sample[]>();
    const put = (name: MetricName, v: number | Sample[] | undefined): void => {
      out.set(name, v === undefined ? [] : typeof v === 'number' ? [{ labels: {}, value: v }] : v);
    };
    for (const [name, series] of this.counters) out.set(name, [...series.values()]);
    for (const [name, read] of this.gauges) {
      try {
        put(name, read());
      } catch {
        put(name, []);
      }
    }
    for (const g of this.groups) {
      let values: Partial<Record<MetricName, number | Sample[]>> = {};
      try {
        values = g.read();
      } catch {
        // every metric of the group empty
      }
      for (const name of g.names) put(name, values[name]);
    }
    return out;
  }
}
