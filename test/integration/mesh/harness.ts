/**
 * A real node with edged and the mesh against the real Docker engine and the host's network:
 * its own interface name and its own random service addresses (10.<200-249>.x.y), so parallel
 * runs never share an address, a port or a container.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import type { TestContext } from 'node:test';
import type Docker from 'dockerode';
import { parseConfig } from '../../../src/config/load.js';
import { Bus, type ModuleBus } from '../../../src/core/bus.js';
import { createLogger, nullLogger } from '../../../src/core/logger.js';
import { Supervisor } from '../../../src/core/supervisor.js';
import type { PodStatus } from '../../../src/modules/edged/status.js';
import type { NodeMessage, NodeReplies } from '../../../src/node/messages.js';
import { nodeModuleSpecs } from '../../../src/node/modules.js';
import { nodeServices } from '../../../src/node/services.js';
import { openNodeStore, type NodeStore } from '../../../src/store/store.js';
import { DOCKER_SOCKET, ensureTestImage, needDocker } from '../../helpers/docker.js';
import { tmpDir } from '../../helpers/tmp.js';
import { removeNodeContainers, waitFor } from '../edged/harness.js';

export { waitFor };

export interface MeshNode {
  name: string;
  docker: Docker;
  image: string;
  store: NodeStore;
  bus: ModuleBus<NodeMessage, NodeReplies>;
  iface: string;
  /** the first three octets of this node's service addresses, e.g. `10.213.7` */
  net: string;
  dnsAddress: string;
  apply(kind: string, name: string, manifest: unknown, namespace?: string): void;
  remove(kind: string, name: string, namespace?: string): void;
  status(name: string, namespace?: string): PodStatus | undefined;
  running(name: string, namespace?: string): Promise<PodStatus>;
  /** the id of a pod's container */
  container(pod: string, container: string): Promise<string>;
  stop(): Promise<void>;
}

export function sh(cmd: string, args: string[], timeoutMs = 30_000): Promise<{ code: number; out: string }> {
  return new Promise((resolve) =>
    execFile(cmd, args, { timeout: timeoutMs }, (e, stdout, stderr) => resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` })),
  );
}

/** `docker exec` in a container: exit code and output. */
export const exec = (id: string, ...cmd: string[]): Promise<{ code: number; out: string }> => sh('docker', ['exec', id, ...cmd]);

export async function startMeshNode(t: TestContext): Promise<MeshNode | undefined> {
  const docker = await needDocker(t);
  if (!docker) return undefined;
  const image = await ensureTestImage(docker);
  const id = randomBytes(3).toString('hex');
  const name = `mesh-${id}`;
  const iface = `em${id}`;
  const net = `10.${randomInt(200, 250)}.${randomInt(0, 256)}`;
  const dnsAddress = `${net}.10`;
  const dataDir = tmpDir(t, 'mesh-it-');
  const debug = !!process.env.MESH_TEST_LOG;
  const config = parseConfig({
    node: { name },
    dataDir,
    log: { level: debug ? 'debug' : 'silent' },
    paths: { dockerSocket: DOCKER_SOCKET },
    ops: { enabled: true, port: 0 },
    modules: {
      metamanager: { api: { enabled: false } },
      eventbus: { enabled: false },
      devicetwin: { enabled: false },
      edgehub: { enabled: false },
      nodestatus: { enabled: false },
      edged: { staticPodPath: '', resyncSeconds: 2 },
      mesh: { enabled: true, interface: iface, resyncSeconds: 2, dns: { address: dnsAddress } },
    },
  });
  const store = openNodeStore(`${dataDir}/edgecore.db`);
  const bus = new Bus<NodeMessage, NodeReplies>();
  const log = debug ? createLogger({ level: 'debug', format: 'text', sink: process.stderr }) : nullLogger();
  const supervisor = new Supervisor(bus, nodeServices(config, store, 'test'), log, { stopTimeoutMs: 20_000 });
  for (const spec of await nodeModuleSpecs(config)) supervisor.add(spec);
  await supervisor.startAll();
  const tester = bus.attach('tester', 'test', () => undefined);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    tester.close();
    await supervisor.stopAll();
    store.close();
  };
  t.after(async () => {
    await stop();
    await removeNodeContainers(docker, name);
    await sh('ip', ['link', 'del', iface]);
  });
  const res = store.resources;
  const node: MeshNode = {
    name,
    docker,
    image,
    store,
    bus: tester,
    iface,
    net,
    dnsAddress,
    apply: (kind, n, manifest, namespace = 'default') => void res.put({ kind, namespace, name: n }, manifest, { origin: 'cloud' }),
    remove: (kind, n, namespace = 'default') => void res.delete({ kind, namespace, name: n }),
    status: (n, namespace = 'default') => (res.get({ kind: 'Pod', namespace, name: n })?.status ?? undefined) as PodStatus | undefined,
    running: (n, namespace = 'default') =>
      waitFor(
        () => {
          const s = node.status(n, namespace);
          return s?.phase === 'Running' && s.podIP && s.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? s : undefined;
        },
        `pod ${n} running and ready (status: ${JSON.stringify(node.status(n, namespace))})`,
        60_000,
      ),
    container: async (pod, container) => {
      const list = await docker.listContainers({ filters: { label: [`io.edgecore.node=${name}`, `io.edgecore.pod.name=${pod}`, `io.edgecore.container=${container}`] } });
      if (!list[0]) throw new Error(`no running container ${container} of pod ${pod}`);
      return list[0].Id;
    },
    stop,
  };
  return node;
}

export const podManifest = (name: string, labels: Record<string, string>, spec: Record<string, unknown>, namespace = 'default'): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, labels },
  spec,
});

export const serviceManifest = (name: string, spec: Record<string, unknown>, namespace = 'default'): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace },
  spec,
});

/** An EndpointSlice as the relay's endpoint controller writes it. */
export const sliceManifest = (
  service: string,
  endpoints: { ip: string; node?: string; ready?: boolean }[],
  ports: { name?: string; port: number; protocol?: string }[],
  namespace = 'default',
): Record<string, unknown> => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: `${service}-abcde`, namespace, labels: { 'kubernetes.io/service-name': service, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } },
  addressType: 'IPv4',
  endpoints: endpoints.map((e) => ({ addresses: [e.ip], conditions: { ready: e.ready ?? true, serving: e.ready ?? true, terminating: false }, ...(e.node ? { nodeName: e.node } : {}) })),
  ports: ports.map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' })),
});

/**
 * The mesh tests' workload, as kubectl manifests: an httpd pod labelled app=web on `node` whose
 * index page says `says` (`extra`: shell run before httpd starts, e.g. a larger file to fetch),
 * a client pod to run wget in, and the `web` Service in front of the httpd pods.
 */
export const webPod = (name: string, node: string, says: string, extra = ''): string => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {app: web}}
spec:
  nodeName: ${node}
  containers:
  - name: httpd
    image: edgecore-test/busybox:1
    command: [sh, -c, 'mkdir -p /www && echo ${says} > /www/index.html${extra ? ` && ${extra}` : ''} && exec httpd -f -p 8080 -h /www']
    ports: [{name: http, containerPort: 8080}]
---
`;
export const clientPod = (node: string): string => `apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  nodeName: ${node}
  containers: [{name: sh, image: edgecore-test/busybox:1, command: [sleep, '3600']}]
---
`;
export const WEB_SERVICE = `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
`;
