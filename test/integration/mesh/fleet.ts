/**
 * A relay and edgecore nodes on test hosts (hosts.ts): `edgerelay` in the root namespace, one
 * `edgecore` (edged and the mesh) per host with its pods on the host's Docker network, the real
 * kubectl 1.32. Torn down after the test; returns undefined (the test skipped) without kubectl or
 * socat.
 */
import { randomInt } from 'node:crypto';
import type Docker from 'dockerode';
import { dockerClient, ensureTestImage } from '../../helpers/docker.js';
import { needService } from '../../helpers/service.js';
import { tmpDir } from '../../helpers/tmp.js';
import { removeNodeContainers } from '../edged/harness.js';
import { haveKubectl, NodeProc, RelayProc, relayPorts } from '../relay/harness.js';
import { sh } from './harness.js';
import { buildSites, type Host, type Scope, type Sites } from './hosts.js';

/** each node's ops port (inside its own host) */
export const OPS = 10350;

export interface FleetNode {
  name: string;
  node: NodeProc;
  host: Host;
}

export interface Fleet {
  docker: Docker;
  relay: RelayProc;
  sites: Sites;
  nodes: FleetNode[];
  /** the nodes' DNS address; the Service range is its /16 */
  dnsAddress: string;
}

/** A node's /metrics sample, read inside its host (0 when absent). */
export async function metric(n: FleetNode, name: string, labels: string): Promise<number> {
  const r = await sh(n.host.prefix[0]!, [...n.host.prefix.slice(1), 'curl', '-sf', `http://127.0.0.1:${OPS}/metrics`]);
  const line = r.out.split('\n').find((l) => l.startsWith(`edgecore_${name}{${labels}}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

/**
 * `count` hosts (`lans`: hosts.ts), one node on each; `dns(host)` adds to a node's
 * `modules.mesh.dns` (the bench points it at an upstream of its own); `linkPorts`: more
 * 127.0.0.1 ports every host reaches in the root namespace through its counted link; `peers`:
 * extra `modules.mesh.peers` settings of every node (`viaRelay: ['*']` forces the relay path
 * between nodes); `loadBalancer`: the relay serves LoadBalancer Services on 127.0.0.1.
 */
export async function startFleet(
  t: Scope,
  o: { count: number; lans: number[][]; dns?: (host: Host) => Record<string, unknown>; linkPorts?: number[]; peers?: Record<string, unknown>; loadBalancer?: boolean },
): Promise<Fleet | undefined> {
  if (!(await needService(t, 'kubectl 1.32', haveKubectl))) return undefined;
  if ((await sh('which', ['socat'])).code !== 0) return void t.skip('socat is not installed (.ci/provision.d/mesh.sh)');
  const docker = dockerClient();
  await ensureTestImage(docker);
  const dir = tmpDir(t, 'mesh-fleet-');
  const b = randomInt(200, 250);
  const dnsAddress = `10.${b}.0.10`;
  const ports = await relayPorts();
  const relay = new RelayProc({ dir, ports, extra: { mesh: { serviceCIDR: `10.${b}.0.0/16`, clusterDNS: dnsAddress, ...(o.loadBalancer ? { loadBalancer: { enabled: true, address: '127.0.0.1', resyncSeconds: 2 } } : {}) } } });
  t.after(() => relay.stop('SIGKILL'));
  await relay.start();
  const sites = await buildSites(t, { count: o.count, lans: o.lans, relayPorts: [ports.api, ports.mqtt, ports.mqtts, ports.ws, ...(o.linkPorts ?? [])], dir });
  const nodes = await Promise.all(
    sites.hosts.map(async (host, i) => {
      const name = `meshp-${sites.id}-${i}`;
      const node = new NodeProc({
        dir,
        name,
        join: await relay.join(name),
        prefix: host.prefix,
        ops: { port: OPS },
        edged: true,
        edgedConfig: { resyncSeconds: 2, network: host.network },
        mesh: { enabled: true, interface: `em${sites.id}${i}`, resyncSeconds: 2, serviceCIDR: `10.${b}.0.0/16`, dns: { address: dnsAddress, ...o.dns?.(host) }, ...(o.peers ? { peers: o.peers } : {}) },
      });
      sites.defer(async () => {
        await node.stop('SIGKILL');
        await removeNodeContainers(docker, name);
      });
      return { name, node, host };
    }),
  );
  await Promise.all(nodes.map((n) => n.node.start()));
  return { docker, relay, sites, nodes, dnsAddress };
}

/** The id of a pod's container on a node. */
export async function containerOf(f: Fleet, node: string, pod: string, container: string): Promise<string | undefined> {
  return (await f.docker.listContainers({ filters: { label: [`io.edgecore.node=${node}`, `io.edgecore.pod.name=${pod}`, `io.edgecore.container=${container}`] } }))[0]?.Id;
}
