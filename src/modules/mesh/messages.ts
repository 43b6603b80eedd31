import type { OpenRequest } from '../../contract/streams.js';
import type { OpenResult } from '../../node/sessions.js';
import type { PeerPath } from './peers.js';

/** What the mesh shows about itself (tests, benches, `edgecore check`). */
export interface MeshStatus {
  services: number;
  listeners: string[];
  connections: number;
  peers: Record<string, PeerPath>;
  dns: { queries: number; cluster: number; forwarded: number; failed: number };
  tunnels: { requested: number; answered: number; peers: number; targets: number; refused: number; timedOut: number };
  /** stored objects the mesh could not use, with the reason */
  problems: string[];
}

/** the mesh's contract on the bus */
export type MeshMessage =
  /** a tunnel session the relay opened on this node (edgehub hands it over) */
  | { type: 'mesh.stream'; request: OpenRequest }
  | { type: 'mesh.status' };

export interface MeshReplies {
  'mesh.stream': OpenResult;
  'mesh.status': MeshStatus;
}
