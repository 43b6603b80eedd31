/**
 * UDP over the mesh's byte streams: each datagram travels as a 2-byte big-endian length and its
 * bytes (the framing DNS over TCP uses), so a CONNECT stream to a peer carries one client's flow
 * of datagrams in order. `Deframer` is pure; `relayDatagrams` joins a framed stream to a UDP
 * socket connected to the endpoint.
 */
import { createSocket } from 'node:dgram';
import type { Duplex } from 'node:stream';

export const MAX_DATAGRAM = 65_507;

export function frame(datagram: Buffer): Buffer {
  const head = Buffer.alloc(2);
  head.writeUInt16BE(datagram.length);
  return Buffer.concat([head, datagram]);
}

/** Bytes in, whole datagrams out. */
export class Deframer {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Buffer[] = [];
    while (this.buf.length >= 2) {
      const n = this.buf.readUInt16BE(0);
      if (this.buf.length < 2 + n) break;
      out.push(Buffer.from(this.buf.subarray(2, 2 + n)));
      this.buf = this.buf.subarray(2 + n);
    }
    return out;
  }
}

/** Datagrams framed on `stream` go to host:port; answers come back framed; idle flows end. */
export function relayDatagrams(stream: Duplex, host: string, port: number, idleMs: number): void {
  const sock = createSocket('udp4');
  const deframe = new Deframer();
  let timer: NodeJS.Timeout | undefined;
  const close = (): void => {
    clearTimeout(timer);
    try {
      sock.close();
    } catch {
      /* closed */
    }
    stream.destroy();
  };
  const touch = (): void => {
    clearTimeout(timer);
    timer = setTimeout(close, idleMs);
    timer.unref();
  };
  sock.on('error', close);
  sock.on('message', (m) => {
    touch();
    stream.write(frame(m));
  });
  sock.connect(port, host, () => {
    touch();
    stream.on('data', (d: Buffer) => {
      touch();
      for (const dg of deframe.push(d)) sock.send(dg);
    });
  });
  stream.on('end', close);
  stream.on('error', close);
  stream.on('close', close);
}
