/**
 * prom-client's own files, imported one by one (ops.ts): the package's index also loads its
 * cluster aggregator, Pushgateway, histograms, summaries and default metrics, which a node that
 * renders only counters and gauges never uses. Types are the package's.
 */
declare module 'prom-client/lib/registry.js' {
  import { Registry } from 'prom-client';
  export default Registry;
}
declare module 'prom-client/lib/counter.js' {
  import { Counter } from 'prom-client';
  export default Counter;
}
declare module 'prom-client/lib/gauge.js' {
  import { Gauge } from 'prom-client';
  export default Gauge;
}
