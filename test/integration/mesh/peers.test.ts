/**
 * Across nodes on one LAN, with real processes on test hosts made of network namespaces
 * (hosts.ts, fleet.ts): `edgerelay` in the root namespace, two `edgecore`s (edged and the mesh) each in a
 * host of its own with its pods on its own Docker network, the two hosts on one LAN link, the real
 * kubectl 1.32. A client pod on host A reaches, by name, a Service whose only endpoint is a pod
 * on host C: A's proxy takes the connection and carries it to C's peer listener over the LAN
 * (mutual TLS, each node authenticated by the key the relay published for it from its own
 * report). Direct, proven: a 1 MiB answer arrives while fewer bytes than that pass between
 * either host and the relay, and A counts it on its `direct` path. The relay stopped: the same
 * connection path keeps working from what the nodes stored.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from '../relay/harness.js';
import { clientPod, exec, WEB_SERVICE, webPod } from './harness.js';
import { containerOf, metric, startFleet } from './fleet.js';

const MiB = 1024 * 1024;
// (busybox's wget crashes with -T here: the containers' exec timeout bounds each request instead)

test('same LAN: a pod on one node reaches a Service whose endpoint is on another, directly (no bytes through the relay), also with the relay stopped', { timeout: 400_000 }, async (t) => {
  const f = await startFleet(t, { count: 2, lans: [[0, 1]] });
  if (!f) return;
  const { relay, sites } = f;
  const [a, c] = f.nodes as [(typeof f.nodes)[0], (typeof f.nodes)[0]];

  const manifests = webPod('web', c.name, 'hello-from-c', 'dd if=/dev/zero of=/www/big bs=1024 count=1024') + clientPod(a.name) + WEB_SERVICE;
  const applied = relay.apply(manifests);
  assert.equal(applied.code, 0, applied.err);
  await waitFor('the endpoint on C ready in the EndpointSlice', () => {
    const s = relay.getJson<{ items: { endpoints?: { addresses: string[]; conditions?: { ready?: boolean }; nodeName?: string }[] }[] }>('endpointslices', '-l', 'kubernetes.io/service-name=web');
    return s?.items[0]?.endpoints?.find((x) => x.conditions?.ready && x.nodeName === c.name)?.addresses[0];
  }, 180_000);
  // the relay publishes C's key from C's own report; A stores C as a peer with it
  const key = await waitFor("C's mesh key on its Node", () => {
    const k = relay.kubectl(['get', 'node', c.name, '-o', 'jsonpath={.metadata.annotations.mesh\\.edgecore\\.io/key-sha256}']).out;
    return /^[0-9a-f]{64}$/.test(k) ? k : undefined;
  }, 60_000);
  // C reports what A can reach (its LAN address), never its mesh interface's addresses or the Service range
  const cAddresses = relay.kubectl(['get', 'node', c.name, '-o', 'jsonpath={.status.addresses[?(@.type=="InternalIP")].address}']).out.split(' ');
  assert.ok(cAddresses.includes(c.host.lan[0]!), `C's addresses: ${cAddresses.join(', ')}`);
  const serviceRange = f.dnsAddress.split('.').slice(0, 2).join('.') + '.';
  assert.deepEqual(cAddresses.filter((x) => x.startsWith(serviceRange) || x.startsWith('127.')), [], `C's addresses: ${cAddresses.join(', ')}`);
  await waitFor('C stored on A as a peer with that key', () => a.node.resources('Node').find((r) => r.name === c.name && r.spec.includes(key)), 60_000);
  await waitFor('the Service and its slice on A', () => a.node.resources('Service').length === 1 && a.node.resources('EndpointSlice').length === 1);

  const client = await waitFor('the client container', () => containerOf(f, a.name, 'client', 'sh'), 120_000);
  const first = await waitFor('web on C answering the client on A', async () => {
    const r = await exec(client, 'wget', '-q', '-O', '-', 'http://web.default.svc.cluster.local/index.html');
    return /hello-from-c/.test(r.out) ? r.out : undefined;
  }, 90_000);
  assert.match(first, /hello-from-c/);

  // direct: the 1 MiB answer does not pass the relay (fewer bytes than it between either host and the relay)
  const before = sites.hosts.map((h) => h.relayBytes());
  const directBefore = await metric(a, 'mesh_bytes_total', 'path="direct",direction="in"');
  const big = await exec(client, 'sh', '-c', 'wget -q -O - http://web.default/big | wc -c');
  assert.equal(big.out.trim(), String(MiB), big.out);
  const relayed = sites.hosts.map((h, i) => h.relayBytes() - before[i]!);
  for (const r of relayed) assert.ok(r < MiB, `bytes between a host and the relay during the transfer: ${relayed.join(', ')}`);
  await waitFor("A's proxy counting the answer on its direct path", async () => (await metric(a, 'mesh_bytes_total', 'path="direct",direction="in"')) - directBefore >= MiB, 30_000);
  assert.ok((await metric(c, 'mesh_peer_streams_total', 'result="accepted"')) >= 2, "C's peer listener took A's connections");
  assert.equal(await metric(c, 'mesh_peer_streams_total', 'result="refused"'), 0);

  // the relay goes away: A keeps reaching C over the LAN from what both stored
  await relay.stop();
  const offline = await exec(client, 'wget', '-q', '-O', '-', 'http://web.default.svc.cluster.local/index.html');
  assert.match(offline.out, /hello-from-c/, offline.out);
});
