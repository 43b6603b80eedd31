/**
 * Across sites, with real processes on test hosts (hosts.ts, fleet.ts): host A and host B each
 * reach the relay but have no route to each other; host C shares a LAN with A. A client pod on A
 * reaches, by name, a Service whose only endpoint is a pod on B — through a tunnel via the relay
 * (A's dial to B fails, the relay splices a tunnel session on each, A and B run their own TLS
 * inside it): a 1 MiB answer passes between each of A and B and the relay, and A counts it on
 * its `relay` path. A pod on A also reaches a cloud Service (no selector; its EndpointSlice
 * lists an address on the relay's side, no nodeName): the relay dials it for A. And the cloud
 * side reaches the edge: a LoadBalancer Service in front of B's pod, served by the relay on
 * 127.0.0.1 (its EXTERNAL-IP), carried to B through a tunnel B opens to its own pod. The same-LAN
 * case (no bytes through the relay) is peers.test.ts.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { createServer, get } from 'node:http';
import { test } from 'node:test';
import { waitFor } from '../relay/harness.js';
import { clientPod, exec, WEB_SERVICE, webPod } from './harness.js';
import { containerOf, metric, startFleet } from './fleet.js';

const MiB = 1024 * 1024;

const cloudService = (port: number): string => `---
apiVersion: v1
kind: Service
metadata: {name: cloud}
spec:
  ports: [{name: http, port: 80, targetPort: ${port}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: cloud-1, labels: {kubernetes.io/service-name: cloud}}
addressType: IPv4
endpoints: [{addresses: [127.0.0.1], conditions: {ready: true}}]
ports: [{name: http, port: ${port}, protocol: TCP}]
`;

const lbService = (port: number): string => `---
apiVersion: v1
kind: Service
metadata: {name: web-lb}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{name: http, port: ${port}, targetPort: http}]
`;

const httpGet = (url: string): Promise<string> =>
  new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });

test('other sites: a pod reaches a Service on a node it has no route to through the relay tunnel, and a cloud Service', { timeout: 500_000 }, async (t) => {
  const f = await startFleet(t, { count: 3, lans: [[0, 2]], peers: { directTimeoutMs: 500 }, loadBalancer: true });
  if (!f) return;
  const { relay, sites } = f;
  const [a, b] = f.nodes as [(typeof f.nodes)[0], (typeof f.nodes)[0]];
  // the cloud side: an HTTP server beside the relay (root namespace), which no edge host can reach
  const cloud = createServer((_req, res) => res.end('hello-from-cloud\n'));
  await new Promise<void>((r) => cloud.listen(0, '127.0.0.1', r));
  t.after(() => cloud.close());
  const cloudPort = (cloud.address() as { port: number }).port;

  const lbPort = randomInt(20_000, 29_000);
  const applied = relay.apply(webPod('web', b.name, 'hello-from-b', 'dd if=/dev/zero of=/www/big bs=1024 count=1024') + clientPod(a.name) + WEB_SERVICE + cloudService(cloudPort) + lbService(lbPort));
  assert.equal(applied.code, 0, applied.err);
  await waitFor('the endpoint on B ready in the EndpointSlice', () => {
    const s = relay.getJson<{ items: { endpoints?: { addresses: string[]; conditions?: { ready?: boolean }; nodeName?: string }[] }[] }>('endpointslices', '-l', 'kubernetes.io/service-name=web');
    return s?.items[0]?.endpoints?.find((x) => x.conditions?.ready && x.nodeName === b.name)?.addresses[0];
  }, 180_000);
  const key = await waitFor("B's mesh key on its Node", () => {
    const k = relay.kubectl(['get', 'node', b.name, '-o', 'jsonpath={.metadata.annotations.mesh\\.edgecore\\.io/key-sha256}']).out;
    return /^[0-9a-f]{64}$/.test(k) ? k : undefined;
  }, 60_000);
  await waitFor('B stored on A as a peer with that key', () => a.node.resources('Node').find((r) => r.name === b.name && r.spec.includes(key)), 60_000);
  await waitFor('both Services and their slices on A', () => a.node.resources('Service').length === 3 && a.node.resources('EndpointSlice').length === 3);

  const client = await waitFor('the client container', () => containerOf(f, a.name, 'client', 'sh'), 120_000);
  const first = await waitFor('web on B answering the client on A', async () => {
    const r = await exec(client, 'wget', '-q', '-O', '-', 'http://web.default.svc.cluster.local/index.html');
    return /hello-from-b/.test(r.out) ? r.out : undefined;
  }, 90_000);
  assert.match(first, /hello-from-b/);
  assert.ok((await metric(a, 'mesh_peer_sessions', 'path="relay"')) >= 1, "A's session to B is on the relay path");

  // through the relay, proven: the 1 MiB answer passes between B and the relay and between the relay and A
  const before = sites.hosts.map((h) => h.relayBytes());
  const relayedBefore = await metric(a, 'mesh_bytes_total', 'path="relay",direction="in"');
  const big = await exec(client, 'sh', '-c', 'wget -q -O - http://web/big | wc -c');
  assert.equal(big.out.trim(), String(MiB), big.out);
  const moved = sites.hosts.map((h, i) => h.relayBytes() - before[i]!);
  t.diagnostic(`bytes between hosts A, B, C and the relay during the 1 MiB transfer: ${moved.join(', ')}`);
  assert.ok(moved[0]! >= MiB && moved[1]! >= MiB, `bytes between A, B, C and the relay during the transfer: ${moved.join(', ')}`);
  await waitFor("A's proxy counting the answer on its relay path", async () => (await metric(a, 'mesh_bytes_total', 'path="relay",direction="in"')) - relayedBefore >= MiB, 30_000);
  assert.equal(await metric(b, 'mesh_peer_streams_total', 'result="refused"'), 0);

  // a cloud Service: its endpoint has no node; the relay dials it for A
  const fromCloud = await waitFor('the cloud Service answering the client on A', async () => {
    const r = await exec(client, 'wget', '-q', '-O', '-', 'http://cloud/');
    return /hello-from-cloud/.test(r.out) ? r.out : undefined;
  }, 60_000);
  assert.match(fromCloud, /hello-from-cloud/);
  assert.ok((await metric(a, 'mesh_connections_total', 'path="cloud",protocol="TCP"')) >= 1, 'A counted it on its cloud path');

  // the cloud side reaches the edge: the relay serves web-lb on 127.0.0.1 and writes it as its EXTERNAL-IP
  await waitFor('web-lb with its ingress address', () => relay.kubectl(['get', 'svc', 'web-lb', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}']).out === '127.0.0.1', 60_000);
  const edge = await waitFor('web on B answering a cloud client through the relay', async () => {
    const body = await httpGet(`http://127.0.0.1:${lbPort}/index.html`).catch(() => '');
    return /hello-from-b/.test(body) ? body : undefined;
  }, 60_000);
  assert.match(edge, /hello-from-b/);
  assert.match(relay.kubectl(['get', 'svc', 'web-lb']).out, /LoadBalancer\s+\S+\s+127\.0\.0\.1\s+/);
});
