/**
 * aedes' in-memory persistence finds the retained messages for a subscription by testing every
 * retained topic against the filter: O(retained) per SUBSCRIBE. With two retained topics per
 * node (desired, presence) a reconnect storm of N nodes costs O(N²). Nodes subscribe to exact
 * topics only, so this wrapper keeps a topic → packet index and answers wildcard-free filters
 * with direct lookups; filters with wildcards still go to the original scan.
 */
import { Readable } from 'node:stream';
import memory from 'aedes-persistence';

interface RetainedPacket {
  topic: string;
  payload: Buffer;
}

type Callback = (err: Error | null) => void;

interface Persistence {
  storeRetained(packet: RetainedPacket, cb?: Callback): unknown;
  createRetainedStreamCombi(patterns: string[]): Readable;
}

const exact = (p: string): boolean => !p.includes('+') && !p.includes('#');

export function indexedMemoryPersistence(): unknown {
  const p = (memory as unknown as () => Persistence)();
  const index = new Map<string, RetainedPacket>();
  const store = p.storeRetained.bind(p);
  const combi = p.createRetainedStreamCombi.bind(p);
  p.storeRetained = (packet, cb) => {
    if (packet.payload.length === 0) index.delete(packet.topic);
    else index.set(packet.topic, { ...packet });
    return store(packet, cb);
  };
  p.createRetainedStreamCombi = (patterns) => {
    if (!patterns.every(exact)) return combi(patterns);
    const found = [...new Set(patterns)].map((t) => index.get(t)).filter((x): x is RetainedPacket => x !== undefined);
    return Readable.from(found);
  };
  return p;
}
