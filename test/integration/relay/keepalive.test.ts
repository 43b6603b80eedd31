/**
 * The relay's API keeps an idle client connection as kube-apiserver does (90 s), not node's 5 s:
 * a client that sends its next request on the same connection after 6 s idle gets an answer on
 * it (with 5 s the server had closed it, and a reusing client meets EPIPE/ECONNRESET). A raw TCP
 * socket, so which connection carries the request is certain.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { KUBE_IDLE_KEEPALIVE_MS } from '../../../src/contract/kube/serving.js';
import { createApiServer, listenApi } from '../../../src/relay/tls/server.js';

/** One GET on `sock`; resolves with the status line once the whole (Content-Length) answer arrived. */
function get(sock: Socket, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString();
      const end = buf.indexOf('\r\n\r\n');
      const len = /content-length: (\d+)/i.exec(buf)?.[1];
      if (end >= 0 && len !== undefined && buf.length >= end + 4 + Number(len)) {
        sock.off('data', onData);
        sock.off('close', onClose);
        resolve(buf.split('\r\n')[0]!);
      }
    };
    const onClose = (): void => reject(new Error(`the server closed the connection (${path})`));
    sock.on('data', onData);
    sock.once('close', onClose);
    sock.write(`GET ${path} HTTP/1.1\r\nHost: relay\r\n\r\n`);
  });
}

test('an idle client connection is kept as kube-apiserver keeps it (90 s): a request after 6 s idle is answered on the same connection', async (t) => {
  assert.equal(KUBE_IDLE_KEEPALIVE_MS, 90_000);
  const server = createApiServer({ tls: undefined, onRequest: (_req, res) => res.end('ok') });
  const base = new URL(await listenApi(server, 0, '127.0.0.1'));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const sock = connect(Number(base.port), base.hostname);
  t.after(() => sock.destroy());
  await new Promise<void>((r, j) => sock.once('connect', r).once('error', j));
  assert.equal(await get(sock, '/first'), 'HTTP/1.1 200 OK');
  await sleep(6000);
  assert.equal(sock.destroyed || sock.readableEnded, false, 'still open after 6 s idle');
  assert.equal(await get(sock, '/second'), 'HTTP/1.1 200 OK');
});
