/**
 * The mesh on one real node: pods on the real Docker engine, Services and EndpointSlices stored
 * as the relay's document would bring them. A client pod (busybox) resolves a Service by `name`,
 * `name.ns` and `name.ns.svc.cluster.local` through the resolv.conf edged gave it (dnsPolicy
 * ClusterFirst), gets NXDOMAIN for a Service that does not exist, and reaches the Service's
 * endpoint on the same node through the proxy by name (an HTTP GET); a Service whose endpoint goes away stops
 * answering, and the ClusterIP leaves the node's interface when the Service is deleted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exec, podManifest, serviceManifest, sh, sliceManifest, startMeshNode, waitFor } from './harness.js';

/** An HTTP GET of / on port 80 from inside a container (busybox's wget crashes in this image; nc resolves names with the C library, as wget would). */
const get = (id: string, host: string): Promise<{ code: number; out: string }> => exec(id, 'sh', '-c', `printf 'GET / HTTP/1.0\\r\\nHost: ${host}\\r\\n\\r\\n' | nc -w 5 ${host} 80`);

test('same node: DNS by name, name.ns and FQDN from a pod; the proxy reaches the endpoint by name', { timeout: 180_000 }, async (t) => {
  const node = await startMeshNode(t);
  if (!node) return;
  const clusterIP = `${node.net}.20`;
  node.apply(
    'Pod',
    'web',
    podManifest('web', { app: 'web' }, {
      containers: [{ name: 'httpd', image: node.image, command: ['sh', '-c', 'mkdir -p /www && echo hello-from-web > /www/index.html && exec httpd -f -p 8080 -h /www'], ports: [{ containerPort: 8080 }] }],
    }),
  );
  node.apply('Pod', 'client', podManifest('client', { app: 'client' }, { containers: [{ name: 'sh', image: node.image, command: ['sleep', '3600'] }] }));
  const web = await node.running('web');
  await node.running('client');
  node.apply('Service', 'web', serviceManifest('web', { type: 'ClusterIP', clusterIP, clusterIPs: [clusterIP], selector: { app: 'web' }, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] }));
  node.apply('EndpointSlice', 'web-abcde', sliceManifest('web', [{ ip: web.podIP!, node: node.name }], [{ name: 'http', port: 8080 }]));
  await waitFor(async () => (await node.bus.request('mesh', { type: 'mesh.status' })).listeners.includes(`${clusterIP}:80/TCP`) || undefined, 'the proxy listening on the ClusterIP');
  const ifaceAddrs = await sh('ip', ['-4', '-o', 'addr', 'show', 'dev', node.iface]);
  assert.match(ifaceAddrs.out, new RegExp(`inet ${clusterIP.replace(/\./g, '\\.')}/32`), 'the ClusterIP is a local address of the mesh interface');

  const client = await node.container('client', 'sh');
  const resolv = await exec(client, 'cat', '/etc/resolv.conf');
  assert.match(resolv.out, new RegExp(`nameserver ${node.dnsAddress.replace(/\./g, '\\.')}`), resolv.out);
  assert.match(resolv.out, /search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local/, resolv.out);
  assert.match(resolv.out, /ndots:5/, resolv.out);

  for (const name of ['web', 'web.default.svc.cluster.local']) {
    // busybox's nslookup asks every search suffix at once and exits 1 when any says NXDOMAIN: read its output
    const r = await exec(client, 'nslookup', '-type=a', name);
    assert.match(r.out, new RegExp(`Address:\\s*${clusterIP.replace(/\./g, '\\.')}\\b`), `nslookup ${name} answers the ClusterIP: ${r.out}`);
  }
  // busybox's nslookup never applies the search path to a name with a dot (as with kube-dns and
  // CoreDNS, `nslookup web.default` fails there); the C library's resolver does (ndots:5):
  // ping names the address it resolved (the ClusterIP is a local address of the node: it answers)
  for (const name of ['web', 'web.default']) {
    const r = await exec(client, 'ping', '-c', '1', '-W', '3', name);
    assert.match(r.out, new RegExp(`PING ${name.replace(/\./g, '\\.')} \\(${clusterIP.replace(/\./g, '\\.')}\\)`), `${name} resolves through the search path: ${r.out}`);
  }
  const missing = await exec(client, 'nslookup', '-type=a', 'nosuch.default.svc.cluster.local');
  assert.match(missing.out, /NXDOMAIN/, missing.out);
  assert.doesNotMatch(missing.out, /Name:/, missing.out);

  for (const host of ['web', 'web.default', 'web.default.svc.cluster.local']) {
    const got = await get(client, host);
    assert.match(got.out, /^HTTP\/1\.[01] 200/, `${host}: ${got.out}`);
    assert.equal(got.out.trim().split('\n').pop(), 'hello-from-web');
  }
  const dns = (await node.bus.request('mesh', { type: 'mesh.status' })).dns;
  assert.ok(dns.cluster >= 4, `the node's DNS answered the cluster names (${JSON.stringify(dns)})`);

  // the endpoint leaves the slice: the Service port still listens, but a connection gets nothing
  node.apply('EndpointSlice', 'web-abcde', sliceManifest('web', [], [{ name: 'http', port: 8080 }]));
  await node.bus.request('mesh', { type: 'mesh.resync' });
  const none = await get(client, 'web');
  assert.doesNotMatch(none.out, /hello-from-web|HTTP\//, `no endpoint, no answer: ${none.out}`);

  // the Service is deleted: its ClusterIP leaves the interface, the DNS address stays
  node.remove('Service', 'web');
  node.remove('EndpointSlice', 'web-abcde');
  const after = await node.bus.request('mesh', { type: 'mesh.resync' });
  assert.deepEqual(after.addresses, [node.dnsAddress]);
  assert.deepEqual(after.listeners, []);
  const gone = await exec(client, 'nslookup', '-type=a', 'web.default.svc.cluster.local');
  assert.match(gone.out, /NXDOMAIN/, gone.out);
});
