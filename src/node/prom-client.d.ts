/**
 * prom-client's registry from its own file (ops.ts): the package's index also loads its cluster
 * aggregator, Pushgateway, histograms, summaries and default metrics, and the node renders its
 * own values through the registry without prom-client's Counter and Gauge. Types are the package's.
 */
declare module 'prom-client/lib/registry.js' {
  import { Registry } from 'prom-client';
  export default Registry;
}
