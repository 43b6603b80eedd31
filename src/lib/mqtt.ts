/**
 * mqtt-packet (under both aedes and mqtt.js) builds a table of 65,536 two-byte Buffers, one per
 * message id, on the first packet it writes: ~6 MiB of heap held for the life of the process
 * (measured, docs/benchmarks.md). Writing the two bytes when needed costs nothing we can measure,
 * so every MQTT user in the process turns the table off before its first packet.
 */
import { writeToStream } from 'mqtt-packet';

export function noPacketNumberCache(): void {
  writeToStream.cacheNumbers = false;
}
