/**
 * mqtt-packet (under both aedes and mqtt.js) builds a table of 65,536 two-byte Buffers, one per
 * message id, on the first packet it writes: ~6 MiB of heap held for the life of the process
 * (measured, docs/benchmarks.md). Writing the two bytes when needed costs nothing we can measure,
 * so every MQTT user in the process turns the table off before its first packet.
 */
import type { IClientOptions, MqttClient } from 'mqtt';
import { writeToStream } from 'mqtt-packet';

export function noPacketNumberCache(): void {
  writeToStream.cacheNumbers = false;
}

const DEFAULT_PORTS: Record<string, number> = { mqtt: 1883, tcp: 1883, mqtts: 8883, ssl: 8883, tls: 8883, ws: 80, wss: 443 };

/**
 * Point an mqtt.js client at another broker before its next `reconnect()` (a cluster's next
 * member). mqtt.js builds each connection's socket from the client's `options` object, so the
 * fields its stream builders read are set here, in one place: protocol, host/hostname, port, the
 * WebSocket path, and no TLS server name left over from the previous host.
 */
export function retarget(options: IClientOptions, url: string): void {
  const u = new URL(url);
  const protocol = u.protocol.replace(/:$/, '');
  if (!(protocol in DEFAULT_PORTS)) throw new Error(`${url}: not an MQTT URL (mqtt, mqtts, ws, wss)`);
  options.protocol = protocol as IClientOptions['protocol'];
  options.host = options.hostname = u.hostname.replace(/^\[|\]$/g, '');
  options.port = u.port ? Number(u.port) : DEFAULT_PORTS[protocol];
  options.path = protocol.startsWith('ws') ? `${u.pathname}${u.search}` : undefined;
  delete options.servername;
}

/**
 * Turn Nagle's algorithm off on a connected client's socket (call it on every `connect`: each
 * reconnect builds a new socket). Stream sessions, mesh tunnels and exec write small frames that
 * wait on an answer; with Nagle on, each round trip through the relay waited ~40 ms more
 * (docs/mesh.md). A WebSocket stream has no such switch and is left as it is.
 */
export function noDelay(client: MqttClient): void {
  (client.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
}
