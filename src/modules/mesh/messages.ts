/** What the mesh shows about itself (tests, benches, `edgecore check`). */
export interface MeshStatus {
  services: number;
  /** the proxy's listeners: `ip:port/PROTO` (ClusterIP) and `*:port/PROTO` (node ports) */
  listeners: string[];
  /** the addresses the capture interface holds (ClusterIPs and the DNS address) */
  addresses: string[];
  connections: number;
  dns: { queries: number; cluster: number; forwarded: number; failed: number };
  /** stored objects the mesh could not use, with the reason */
  problems: string[];
}

/** the mesh's contract on the bus */
export type MeshMessage = { type: 'mesh.status' } | { type: 'mesh.resync' };

export interface MeshReplies {
  'mesh.status': MeshStatus;
  'mesh.resync': MeshStatus;
}
