/**
 * A real node (store, bus, metamanager, edged) against the real Docker engine, with a unique node
 * name so its containers are its own, and cleanup of everything it created.
 */
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import type Docker from 'dockerode';
import { parseConfig } from '../../../src/config/load.js';
import type { EdgecoreConfig } from '../../../src/config/schema.js';
import { Bus, type ModuleBus } from '../../../src/core/bus.js';
import { createLogger, nullLogger } from '../../../src/core/logger.js';
import { Supervisor } from '../../../src/core/supervisor.js';
import type { NodeMessage, NodeReplies } from '../../../src/node/messages.js';
import { nodeModuleSpecs } from '../../../src/node/modules.js';
import { nodeServices } from '../../../src/node/services.js';
import { openNodeStore, type NodeStore } from '../../../src/store/store.js';
import type { PodStatus } from '../../../src/modules/edged/status.js';
import { DOCKER_SOCKET, ensureTestImage, needDocker } from '../../helpers/docker.js';
import { tmpDir } from '../../helpers/tmp.js';

export interface TestNode {
  docker: Docker;
  image: string;
  store: NodeStore;
  /** a bus endpoint for requests to edged (pod.logs, pod.exec) */
  bus: ModuleBus<NodeMessage, NodeReplies>;
  stop(): Promise<void>;
  name: string;
  dataDir: string;
  apply(kind: string, name: string, spec: unknown, namespace?: string): void;
  remove(kind: string, name: string, namespace?: string): void;
  status(name: string, namespace?: string): PodStatus | undefined;
  waitStatus(name: string, pred: (s: PodStatus) => boolean, what: string, timeoutMs?: number): Promise<PodStatus>;
  containers(extra?: string[]): Promise<Docker.ContainerInfo[]>;
}

export function nodeConfig(name: string, dataDir: string, edged: Record<string, unknown> = {}, socket = DOCKER_SOCKET): EdgecoreConfig {
  return parseConfig({
    node: { name },
    dataDir,
    log: { level: process.env.EDGED_TEST_LOG ? 'debug' : 'silent' },
    paths: { dockerSocket: socket },
    modules: {
      metamanager: { api: { enabled: false } },
      eventbus: { enabled: false },
      devicetwin: { enabled: false },
      edgehub: { enabled: false },
      // an hour's resync: every test here sees its pods through events, probes and the planner's own
      // wake-ups alone, as a periodic pass would hide a path that misses a change (it hid Docker's late die)
      edged: { staticPodPath: '', resyncSeconds: 3600, crashLoop: { initialSeconds: 1, maxSeconds: 4 }, pullBackoff: { initialSeconds: 1, maxSeconds: 4 }, ...edged },
    },
  });
}

export const uniqueName = (prefix = 'edt'): string => `${prefix}-${randomBytes(4).toString('hex')}`;

export async function removeNodeContainers(docker: Docker, node: string): Promise<void> {
  const list = await docker.listContainers({ all: true, filters: { label: [`io.edgecore.node=${node}`] } });
  await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
}

/** Poll `fn` until it gives a value; `what` names the wait (a function: read when the wait fails, e.g. the status then). */
export async function waitFor<T>(fn: () => Promise<T | undefined> | T | undefined, what: string | (() => string), timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** Start a node; undefined when Docker is absent (test skipped). */
export async function startTestNode(t: TestContext, edged: Record<string, unknown> = {}, socket?: string): Promise<TestNode | undefined> {
  const docker = await needDocker(t);
  if (!docker) return undefined;
  const image = await ensureTestImage(docker);
  const name = uniqueName('edn');
  const dataDir = tmpDir(t, 'edged-it-');
  const config = nodeConfig(name, dataDir, edged, socket);
  const store = openNodeStore(`${dataDir}/edgecore.db`);
  const bus = new Bus<NodeMessage, NodeReplies>();
  const log = process.env.EDGED_TEST_LOG ? createLogger({ level: 'debug', format: 'text', sink: process.stderr }) : nullLogger();
  const services = nodeServices(config, store, 'test');
  const supervisor = new Supervisor(bus, services, log, { stopTimeoutMs: 20_000 });
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
  });
  const res = store.resources;
  const tn: TestNode = {
    docker,
    image,
    store,
    bus: tester,
    stop,
    name,
    dataDir,
    apply: (kind, n, spec, namespace = 'default') => void res.put({ kind, namespace, name: n }, spec, { origin: 'local' }),
    remove: (kind, n, namespace = 'default') => void res.delete({ kind, namespace, name: n }),
    status: (n, namespace = 'default') => (res.get({ kind: 'Pod', namespace, name: n })?.status ?? undefined) as PodStatus | undefined,
    waitStatus: (n, pred, what, timeoutMs) =>
      waitFor(() => {
        const s = tn.status(n);
        return s && pred(s) ? s : undefined;
      }, () => `${n}: ${what} (status then: ${JSON.stringify(tn.status(n))})`, timeoutMs),
    containers: (extra = []) => docker.listContainers({ all: true, filters: { label: [`io.edgecore.node=${name}`, ...extra] } }),
  };
  return tn;
}

export function pod(name: string, spec: Record<string, unknown>, namespace = 'default'): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace }, spec };
}
