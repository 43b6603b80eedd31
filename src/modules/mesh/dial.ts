/**
 * The proxy's dials to an endpoint running on this node: TCP within a timeout, and UDP as a
 * flow of framed datagrams (udp.ts) over an in-memory stream, so the proxy treats both alike.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { duplexPair } from './pipe.js';
import { relayDatagrams } from './udp.js';

/** Dial host:port within `timeoutMs`. */
export function dialTcp(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ host, port, allowHalfOpen: true, noDelay: true });
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`${host}:${port}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

/** A stream of framed datagrams to a UDP endpoint; the flow ends after `idleMs` without a datagram. */
export function dialUdp(host: string, port: number, idleMs: number): Duplex {
  const [mine, theirs] = duplexPair();
  relayDatagrams(theirs, host, port, idleMs);
  return mine;
}
