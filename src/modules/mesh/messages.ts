import type { OpenRequest } from '../../contract/streams.js';
import type { OpenResult } from '../../node/sessions.js';

/** What the mesh shows about itself (tests, benches, `edgecore check`). */
export interface MeshStatus {
  services: number;
  /** the proxy's listeners: `ip:port/PROTO` (ClusterIP) and `*:port/PROTO` (node ports) */
  listeners: string[];
  /** the addresses the capture interface holds (ClusterIPs and the DNS address) */
  addresses: string[];
  connections: number;
  /** peer nodes connected now, and the path to each */
  peers: Record<string, 'direct' | 'relay'>;
  /** tunnels through the relay: asked for, answered, taken from peers, for local endpoints, refused, timed out */
  tunnels: { requested: number; answered: number; peers: number; targets: number; refused: number; timedOut: number };
  /** this node's peer listener: sessions, streams accepted and refused, unknown keys, bytes */
  peerServer: { sessions: number; streams: number; refused: number; unknownKeys: number; bytesIn: number; bytesOut: number; open: number } | undefined;
  dns: { queries: number; cluster: number; forwarded: number; failed: number };
  /** stored objects the mesh could not use, with the reason */
  problems: string[];
}

/** the mesh's contract on the bus */
export type MeshMessage =
  | { type: 'mesh.status' }
  | { type: 'mesh.resync' }
  /** a `tunnel` stream session the relay opened on this node (edgehub hands it over) */
  | { type: 'mesh.stream'; request: OpenRequest };

export interface MeshReplies {
  'mesh.status': MeshStatus;
  'mesh.resync': MeshStatus;
  'mesh.stream': OpenResult;
}
