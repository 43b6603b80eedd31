/**
 * The whole path with real processes: `edgerelay` (embedded broker) and one `edgecore` with edged
 * and the mesh, the real kubectl 1.32. A pod and a Service made with kubectl; the relay's endpoint
 * controller writes the EndpointSlice from the pod's readiness; the node link brings the Service
 * and the slice down in the node's desired document; a client pod resolves the Service by name and
 * reaches its endpoint through the node's proxy. `kubectl get svc,endpointslices` and `describe
 * svc` as in Kubernetes. The relay stopped: the node keeps resolving and routing from what it
 * stored (same node).
 */
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { test } from 'node:test';
import { dockerClient } from '../../helpers/docker.js';
import { needService } from '../../helpers/service.js';
import { tmpDir } from '../../helpers/tmp.js';
import { removeNodeContainers } from '../edged/harness.js';
import { haveKubectl, NodeProc, RelayProc, relayPorts, waitFor } from '../relay/harness.js';
import { clientPod, exec, sh, WEB_SERVICE, webPod } from './harness.js';

const get = (id: string, host: string): Promise<{ code: number; out: string }> => exec(id, 'sh', '-c', `printf 'GET / HTTP/1.0\\r\\nHost: ${host}\\r\\n\\r\\n' | nc -w 5 ${host} 80`);

test('relay → node: a Service made with kubectl resolves and routes on the node, also with the relay stopped', { timeout: 300_000 }, async (t) => {
  if (!(await needService(t, 'kubectl 1.32', haveKubectl))) return;
  const docker = dockerClient();
  const dir = tmpDir(t, 'mesh-relay-');
  const b = randomInt(200, 250);
  const dnsAddress = `10.${b}.0.10`;
  const relay = new RelayProc({ dir, ports: await relayPorts(), extra: { mesh: { serviceCIDR: `10.${b}.0.0/16`, clusterDNS: dnsAddress } } });
  t.after(() => relay.stop('SIGKILL'));
  await relay.start();
  const id = randomBytes(3).toString('hex');
  const name = `meshr-${id}`;
  const iface = `er${id}`;
  const node = new NodeProc({ dir, name, join: await relay.join(name), edged: true, edgedConfig: { resyncSeconds: 2 }, mesh: { enabled: true, interface: iface, resyncSeconds: 2, dns: { address: dnsAddress } } });
  t.after(async () => {
    await node.stop('SIGKILL');
    await removeNodeContainers(docker, name);
    await sh('ip', ['link', 'del', iface]);
  });
  await node.start();

  const web = webPod('web', name, 'hello-from-web') + clientPod(name) + WEB_SERVICE;
  const applied = relay.apply(web);
  assert.equal(applied.code, 0, applied.err);
  const clusterIP = relay.kubectl(['get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}']).out;
  assert.match(clusterIP, new RegExp(`^10\\.${b}\\.\\d+\\.\\d+$`), 'a ClusterIP from the configured range');
  const podIP = await waitFor('the endpoint ready in the EndpointSlice', () => {
    const s = relay.getJson<{ items: { endpoints?: { addresses: string[]; conditions?: { ready?: boolean }; nodeName?: string }[] }[] }>('endpointslices', '-l', 'kubernetes.io/service-name=web');
    const e = s?.items[0]?.endpoints?.find((x) => x.conditions?.ready && x.nodeName === name);
    return e?.addresses[0];
  }, 120_000);

  const table = relay.kubectl(['get', 'svc,endpointslices']);
  assert.equal(table.code, 0, table.err);
  assert.match(table.out, new RegExp(`service/web\\s+ClusterIP\\s+${clusterIP.replace(/\./g, '\\.')}\\s+<none>\\s+80/TCP`), table.out);
  assert.match(table.out, new RegExp(`endpointslice\\.discovery\\.k8s\\.io/web-\\w+\\s+IPv4\\s+8080\\s+${podIP.replace(/\./g, '\\.')}`), table.out);
  const described = relay.kubectl(['describe', 'svc', 'web']);
  assert.equal(described.code, 0, described.err);
  assert.match(described.out, /Selector:\s+app=web/, described.out);
  assert.match(described.out, new RegExp(`Endpoints:\\s+${podIP.replace(/\./g, '\\.')}:8080`), described.out);

  // the node got both through its desired document
  await waitFor('the Service and its slice stored on the node', () => node.resources('Service').length === 1 && node.resources('EndpointSlice').length === 1);
  const client = await waitFor('the client container', async () => (await docker.listContainers({ filters: { label: [`io.edgecore.node=${name}`, 'io.edgecore.pod.name=client', 'io.edgecore.container=sh'] } }))[0]?.Id, 120_000);
  const answered = await waitFor('web answering through the proxy', async () => {
    const r = await get(client, 'web');
    return /hello-from-web/.test(r.out) ? r.out : undefined;
  }, 60_000);
  assert.match(answered, /^HTTP\/1\.[01] 200/);
  const ns = await exec(client, 'nslookup', '-type=a', 'web.default.svc.cluster.local');
  assert.match(ns.out, new RegExp(`Address:\\s*${clusterIP.replace(/\./g, '\\.')}\\b`), ns.out);

  // the relay goes away: same-node traffic and names keep working from what the node stored
  await relay.stop();
  const offline = await get(client, 'web.default');
  assert.match(offline.out, /hello-from-web/, offline.out);
  const ns2 = await exec(client, 'nslookup', '-type=a', 'web');
  assert.match(ns2.out, new RegExp(`Address:\\s*${clusterIP.replace(/\./g, '\\.')}\\b`), ns2.out);
});
