#!/usr/bin/env node
/**
 * Kubernetes API bench (issue 12): one bundled `edgerelay run` process over plain HTTP on
 * loopback (api.insecureLocalAdmin), measured from this process.
 *
 * - list of PODS pods through the API: p50 as JSON (a PodList) and as a Table (kubectl get),
 *   against the same-run baseline of listing an empty resource;
 * - one watch event to WATCHERS watchers: p99 latency from the write's request to each
 *   watcher's line, against the same-run baseline of one watcher;
 * - relay RSS per 1,000 stored objects (RSS after PODS pods minus RSS with none).
 *
 *   node bench/api-list.mjs          (PODS=10000 WATCHERS=100 by default; ≈ 1 min here)
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, percentile, ROOT, round, rssKiB, sleep } from './lib.mjs';

const PODS = Number(process.env.PODS ?? 10_000);
const WATCHERS = Number(process.env.WATCHERS ?? 100);
const LISTS = Number(process.env.LISTS ?? 15);
const EVENTS = Number(process.env.EVENTS ?? 20);
const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
const progress = (m) => (process.env.QUIET ? undefined : process.stderr.write(`[api-list] ${m}\n`));

if (!existsSync(join(ROOT, 'dist/edgerelay.js'))) execFileSync(process.execPath, [join(ROOT, 'build.mjs')], { stdio: 'inherit' });

const dir = mkdtempSync(join(tmpdir(), 'edgecore-bench-api-'));
const [api, mq] = [await freePort(), await freePort()];
writeFileSync(
  join(dir, 'relay.yaml'),
  // plain HTTP and MQTT, explicitly (the figures are the API machinery's, not TLS's: see relay.md)
  `dataDir: ${dir}/data\nlog: { level: warn }\napi: { host: 127.0.0.1, port: ${api}, adminToken: bench, insecureLocalAdmin: true, tls: { enabled: false } }\nbroker: { host: 127.0.0.1, port: ${mq}, plaintext: true, tls: { enabled: false }, ws: { enabled: false } }\n`,
);
const relay = spawn(process.execPath, [join(ROOT, 'dist/edgerelay.js'), 'run', '--config', join(dir, 'relay.yaml')], { stdio: ['ignore', 'ignore', 'inherit'] });
const base = `http://127.0.0.1:${api}`;
const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

function request(method, path, { body, accept = 'application/json' } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(base + path, { method, agent, headers: { accept, 'content-type': 'application/json' } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

async function until(fn, what, ms = 30_000) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if (await fn()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > end) throw new Error(`timeout: ${what}`);
    await sleep(100);
  }
}

const pod = (i) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: `bench-${i}`, labels: { app: 'bench', shard: String(i % 10) } },
  spec: { nodeName: `pi-${i % 50}`, containers: [{ name: 'c', image: 'busybox:1.36', args: ['sleep', '3600'] }] },
});

async function timeLists(path, accept, n = LISTS) {
  const ms = [];
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    const r = await request('GET', path, { accept });
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.status !== 200) throw new Error(`${path}: ${r.status} ${r.text.slice(0, 200)}`);
    bytes = r.text.length;
  }
  return { p50: round(percentile(ms, 50)), p90: round(percentile(ms, 90)), bytes };
}

/** `n` watchers on configmaps; resolves with a function that waits for one named object on all of them. */
async function watchers(n, rv) {
  const arrivals = new Map();
  const ready = [];
  for (let i = 0; i < n; i++) {
    ready.push(
      new Promise((resolve, reject) => {
        const req = http.request(`${base}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rv}`, { headers: { accept: 'application/json' } }, (res) => {
          let buf = '';
          res.on('data', (d) => {
            const now = process.hrtime.bigint();
            buf += d;
            let j;
            while ((j = buf.indexOf('\n')) >= 0) {
              const line = buf.slice(0, j);
              buf = buf.slice(j + 1);
              const name = JSON.parse(line).object.metadata.name;
              (arrivals.get(name) ?? arrivals.set(name, []).get(name)).push(now);
            }
          });
          resolve(req);
        });
        req.on('error', reject);
        req.end();
      }),
    );
  }
  const reqs = await Promise.all(ready);
  return {
    async event(name) {
      const t0 = process.hrtime.bigint();
      const r = await request('POST', '/api/v1/namespaces/default/configmaps', { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } } });
      if (r.status !== 201) throw new Error(`create ${name}: ${r.status}`);
      await until(() => (arrivals.get(name)?.length ?? 0) >= n, `${name} on ${n} watchers`);
      return arrivals.get(name).map((t) => Number(t - t0) / 1e6);
    },
    close: () => reqs.forEach((r) => r.destroy()),
  };
}

try {
  await until(async () => (await request('GET', '/readyz')).status === 200, 'relay ready');
  await sleep(1000);
  const rssEmpty = rssKiB(relay.pid);
  progress(`creating ${PODS} pods`);
  const t0 = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < PODS) {
        const i = next++;
        const r = await request('POST', '/api/v1/namespaces/default/pods', { body: pod(i) });
        if (r.status !== 201) throw new Error(`create pod ${i}: ${r.status} ${r.text.slice(0, 300)}`);
      }
    }),
  );
  const createS = (Date.now() - t0) / 1000;
  await sleep(2000);
  const rssFull = rssKiB(relay.pid);
  progress('listing');
  const empty = await timeLists('/api/v1/namespaces/default/configmaps', 'application/json');
  const json = await timeLists('/api/v1/namespaces/default/pods', 'application/json');
  const table = await timeLists('/api/v1/namespaces/default/pods', TABLE);
  const selected = await timeLists('/api/v1/namespaces/default/pods?labelSelector=shard%3D3', 'application/json');
  progress(`watch fan-out to ${WATCHERS}`);
  const rv = JSON.parse((await request('GET', '/api/v1/namespaces/default/configmaps')).text).metadata.resourceVersion;
  const one = await watchers(1, rv);
  const oneMs = [];
  for (let i = 0; i < EVENTS; i++) oneMs.push(...(await one.event(`solo-${i}`)));
  one.close();
  const rv2 = JSON.parse((await request('GET', '/api/v1/namespaces/default/configmaps')).text).metadata.resourceVersion;
  const many = await watchers(WATCHERS, rv2);
  const manyMs = [];
  for (let i = 0; i < EVENTS; i++) manyMs.push(...(await many.event(`fan-${i}`)));
  many.close();
  console.log(
    JSON.stringify(
      {
        pods: PODS,
        createPodsPerSecond: round(PODS / createS, 0),
        listMs: { baselineEmptyList: empty, podsJson: json, podsTable: table, podsLabelSelected: selected },
        watch: {
          events: EVENTS,
          baselineOneWatcherMs: { p50: round(percentile(oneMs, 50)), p99: round(percentile(oneMs, 99)) },
          [`watchers${WATCHERS}Ms`]: { p50: round(percentile(manyMs, 50)), p99: round(percentile(manyMs, 99)) },
        },
        relayRssKiB: { noObjects: rssEmpty, [`with${PODS}Pods`]: rssFull, perThousandObjects: round(((rssFull - rssEmpty) / PODS) * 1000, 0) },
      },
      null,
      2,
    ),
  );
} finally {
  relay.kill('SIGTERM');
  agent.destroy();
  await new Promise((r) => relay.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
