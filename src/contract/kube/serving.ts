/**
 * How a Kubernetes API server keeps client connections, as kube-apiserver and the kubelet do:
 * an idle keep-alive connection is kept 90 s, the keep-alive time of Go's default client
 * transport (client-go). Node's server default is 5 s: a client reusing a connection after about
 * 5 s idle (a poll every 5 s) then writes into a socket the server is closing, and the request
 * fails with EPIPE or ECONNRESET. Both the relay's API and the node's MetaServer serve this way.
 */
export const KUBE_IDLE_KEEPALIVE_MS = 90_000;

/** The part of a node HTTP(S) server these settings touch. */
interface KeepAliveServer {
  keepAliveTimeout: number;
  headersTimeout: number;
}

/** Keep idle connections as a Kubernetes API server does (headers must still arrive within their own limit). */
export function kubeKeepAlive<S extends KeepAliveServer>(server: S): S {
  server.keepAliveTimeout = KUBE_IDLE_KEEPALIVE_MS;
  // node measures headersTimeout from a request's first byte; kept above the idle time so a
  // request that starts just before the idle limit is not cut by the other one
  server.headersTimeout = KUBE_IDLE_KEEPALIVE_MS + 1000;
  return server;
}
