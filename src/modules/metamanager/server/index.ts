/**
 * Assembles the MetaServer: HTTPS on loopback (and the pod network's address when set) with
 * the node-local CA's serving certificate, plain HTTP on a unix socket for the host, one
 * WatchHub for every watcher, and the token issuer pods get their service-account tokens from.
 */
import { chmodSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { kubeKeepAlive } from '../../../contract/kube/serving.js';
import type { Logger } from '../../../core/logger.js';
import type { ResourceStore } from '../../../store/resources.js';
import { MetaApi } from './http.js';
import { NODE_RESOURCES } from './kinds.js';
import { servingTls } from './tls.js';
import { privateSecret, TokenIssuer, type PodIdentity } from './tokens.js';
import { WatchHub, type WatchLimits } from './watch.js';

export interface MetaServerOptions {
  resources: ResourceStore;
  nodeName: string;
  /** where the CA, keys and admin token live */
  dir: string;
  host: string;
  port: number;
  /** another address to listen on (the pod network's gateway), '' for none */
  podNetworkAddress: string;
  /** unix socket path, '' for none */
  socket: string;
  limits: WatchLimits;
  version: string;
  now: () => Date;
  log: Logger;
  onRequest?: (verb: string, code: number) => void;
}

/** What a pod needs to reach the MetaServer as an in-cluster client. */
export interface ServiceAccountMount {
  token: string;
  ca: string;
  port: number;
  /** loopback (host-network pods) and the pod network's address, if served */
  hosts: { loopback: string; podNetwork?: string };
}

export interface MetaServer {
  readonly port: number;
  readonly watches: WatchHub;
  issue(id: PodIdentity): ServiceAccountMount;
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export async function startMetaServer(o: MetaServerOptions): Promise<MetaServer> {
  const hosts = ['127.0.0.1', 'localhost', 'kubernetes.default.svc', o.nodeName, ...(o.podNetworkAddress ? [o.podNetworkAddress] : [])];
  const tls = await servingTls(o.dir, o.nodeName, hosts, o.now());
  const tokens = new TokenIssuer(privateSecret(join(o.dir, 'token.key')), `edgecore/${o.nodeName}`, privateSecret(join(o.dir, 'admin.token')));
  const watches = new WatchHub(o.resources, NODE_RESOURCES, o.limits, o.now);
  const api = new MetaApi({ resources: o.resources, defs: NODE_RESOURCES, tokens, watches, now: o.now, version: o.version, ...(o.onRequest ? { onRequest: o.onRequest } : {}) });
  const servers: Server[] = [];
  const handler = (via: 'tcp' | 'unix') => (req: IncomingMessage, res: ServerResponse) => void api.handle(req, res, via);
  const closeAll = async (): Promise<void> => {
    watches.close();
    await Promise.all(
      servers.map((s) => {
        s.closeAllConnections();
        return new Promise<void>((r) => s.close(() => r()));
      }),
    );
  };
  try {
    const main = kubeKeepAlive(createHttpsServer({ cert: tls.cert, key: tls.key }, handler('tcp')));
    servers.push(main);
    await listen(main, o.port, o.host);
    const port = (main.address() as AddressInfo).port;
    if (o.podNetworkAddress && o.podNetworkAddress !== o.host) {
      const pod = kubeKeepAlive(createHttpsServer({ cert: tls.cert, key: tls.key }, handler('tcp')));
      servers.push(pod);
      await listen(pod, port, o.podNetworkAddress);
    }
    if (o.socket) {
      mkdirSync(dirname(o.socket), { recursive: true, mode: 0o700 });
      if (existsSync(o.socket)) rmSync(o.socket, { force: true });
      const local = kubeKeepAlive(createHttpServer(handler('unix')));
      servers.push(local);
      await new Promise<void>((resolve, reject) => {
        local.once('error', reject);
        local.listen(o.socket, () => resolve());
      });
      chmodSync(o.socket, 0o600);
    }
    for (const s of servers) s.on('error', (e) => o.log.error('MetaServer listener error', { error: e }));
    return {
      port,
      watches,
      issue: (id) => ({
        token: tokens.issue(id, o.now()),
        ca: tls.ca,
        port,
        hosts: { loopback: '127.0.0.1', ...(o.podNetworkAddress ? { podNetwork: o.podNetworkAddress } : {}) },
      }),
      close: closeAll,
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
