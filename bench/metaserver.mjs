#!/usr/bin/env node
/**
 * The MetaServer over real HTTPS against a real node store: a list of 1,000 pods (JSON and
 * Table) p50/p95, and the process's RSS with 0 and then 50 watchers open, and the time one
 * change takes to reach all 50 (same run).
 * Usage: node bench/metaserver.mjs [pods=1000] [watchers=50] [lists=50]
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { register } from 'tsx/esm/api';
import { emit, percentile, round, sleep } from './lib.mjs';

register();
const src = (p) => import(new URL(`../src/${p}`, import.meta.url).href);
const { openNodeStore } = await src('store/store.ts');
const { startMetaServer } = await src('modules/metamanager/server/index.ts');
const { nullLogger } = await src('core/logger.ts');

const PODS = Number(process.argv[2] ?? 1000);
const WATCHERS = Number(process.argv[3] ?? 50);
const LISTS = Number(process.argv[4] ?? 50);
const dir = mkdtempSync(join(tmpdir(), 'edgecore-bench-'));
const store = openNodeStore(join(dir, 'n.db'));
const pod = (i, v = 0) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: `p${String(i).padStart(5, '0')}`, namespace: 'default', labels: { app: `a${i % 10}`, v: String(v) } },
  spec: { containers: [{ name: 'c', image: 'registry.local/app:1', command: ['sleep', 'infinity'], env: [{ name: 'A', value: 'x'.repeat(64) }] }] },
});
store.db.transaction(() => {
  for (let i = 0; i < PODS; i++) {
    const key = { kind: 'Pod', namespace: 'default', name: pod(i).metadata.name };
    store.resources.put(key, pod(i), { origin: 'local' });
    store.resources.setStatus(key, { phase: 'Running', podIP: '10.0.0.1', containerStatuses: [{ name: 'c', ready: true, restartCount: 0, state: { running: {} } }] });
  }
})();
const server = await startMetaServer({
  resources: store.resources,
  nodeName: 'bench',
  dir: join(dir, 'ms'),
  host: '127.0.0.1',
  port: 0,
  podNetworkAddress: '',
  socket: '',
  limits: { maxWatchers: 1000, maxBacklogBytes: 1 << 20, bookmarkSeconds: 60, maxTimeoutSeconds: 600 },
  version: 'bench',
  now: () => new Date(),
  log: nullLogger(),
});
const ca = readFileSync(join(dir, 'ms', 'ca.crt'));
const token = readFileSync(join(dir, 'ms', 'admin.token'), 'utf8');
const agent = new (await import('node:https')).Agent({ keepAlive: true, ca });
const get = (path, accept = 'application/json') =>
  new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = request({ host: '127.0.0.1', port: server.port, path, agent, servername: 'localhost', headers: { accept, authorization: `Bearer ${token}` } }, (res) => {
      let n = 0;
      res.on('data', (c) => (n += c.length));
      res.on('end', () => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, bytes: n }));
    });
    req.on('error', reject);
    req.end();
  });
const timings = async (accept) => {
  const ms = [];
  let bytes = 0;
  for (let i = 0; i < LISTS; i++) {
    const r = await get('/api/v1/namespaces/default/pods', accept);
    ms.push(r.ms);
    bytes = r.bytes;
  }
  return { p50Ms: round(percentile(ms, 50)), p95Ms: round(percentile(ms, 95)), bytes };
};
await get('/api/v1/namespaces/default/pods'); // warm
const json = await timings('application/json');
const table = await timings('application/json;as=Table;v=v1;g=meta.k8s.io,application/json');
global.gc?.();
await sleep(500);
const rss0 = process.memoryUsage().rss;
let seen = 0;
const streams = [];
for (let i = 0; i < WATCHERS; i++) {
  streams.push(
    new Promise((resolve) => {
      const req = request({ host: '127.0.0.1', port: server.port, path: `/api/v1/namespaces/default/pods?watch=true&resourceVersion=${store.resources.revision()}`, ca, servername: 'localhost', headers: { authorization: `Bearer ${token}` } }, (res) => {
        res.on('data', () => seen++);
        resolve(req);
      });
      req.end();
    }),
  );
}
const reqs = await Promise.all(streams);
await sleep(1000);
global.gc?.();
await sleep(500);
const rss50 = process.memoryUsage().rss;
const t0 = process.hrtime.bigint();
store.resources.put({ kind: 'Pod', namespace: 'default', name: pod(1).metadata.name }, pod(1, 1), { origin: 'local' });
while (seen < WATCHERS) await sleep(1);
const fanoutMs = Number(process.hrtime.bigint() - t0) / 1e6;
for (const r of reqs) r.destroy();
await server.close();
store.close();
rmSync(dir, { recursive: true, force: true });
emit('metaserver', {
  pods: PODS,
  listJson: json,
  listTable: table,
  watchers: WATCHERS,
  rssMiB: { noWatchers: round(rss0 / 1048576, 1), withWatchers: round(rss50 / 1048576, 1), perWatcherKiB: round((rss50 - rss0) / 1024 / WATCHERS, 1) },
  oneChangeToAllWatchersMs: round(fanoutMs),
  note: 'server and clients in one process: RSS includes the 50 client sockets',
});
