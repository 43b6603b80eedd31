/**
 * The relay's API listener on `api.port`: HTTPS with the relay's serving certificate, or plain
 * HTTP only when `api.tls.enabled: false` (tests of the refusal, local debugging — kubectl sends
 * no bearer token over plain HTTP and client-node refuses it).
 *
 * Whoever serves the API mounts a request handler and an upgrade handler (WebSocket exec/attach);
 * this module knows nothing of routes or authentication.
 */
import { kubeKeepAlive } from '../../contract/kube/serving.js';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

export type ApiServer = HttpServer | HttpsServer;

export interface ApiServerOptions {
  /** serving certificate and key (PEM); undefined = plain HTTP */
  tls: { cert: string; key: string } | undefined;
  onRequest: (req: IncomingMessage, res: ServerResponse) => void;
  /** HTTP upgrades (WebSocket); without one every upgrade is answered 404 and closed */
  onUpgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
}

function refuseUpgrade(_req: IncomingMessage, socket: Duplex): void {
  socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
}

export function createApiServer(o: ApiServerOptions): ApiServer {
  const server: ApiServer = kubeKeepAlive(o.tls ? createHttpsServer({ cert: o.tls.cert, key: o.tls.key, minVersion: 'TLSv1.2' }, o.onRequest) : createHttpServer(o.onRequest));
  server.on('upgrade', o.onUpgrade ?? refuseUpgrade);
  // a client speaking plain HTTP (or garbage) to the TLS port: drop it quietly
  server.on('tlsClientError', (_e: Error, socket: Duplex) => socket.destroy());
  return server;
}

/** Listen; resolves with the base URL (https:// or http://; a wildcard bind is reported as 127.0.0.1). */
export function listenApi(server: ApiServer, port: number, host: string): Promise<string> {
  const scheme = 'setSecureContext' in server ? 'https' : 'http';
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const a = server.address() as AddressInfo;
      const h = a.address === '0.0.0.0' || a.address === '::' ? '127.0.0.1' : a.family === 'IPv6' ? `[${a.address}]` : a.address;
      resolve(`${scheme}://${h}:${a.port}`);
    });
  });
}
