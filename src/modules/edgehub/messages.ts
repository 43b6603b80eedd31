import type { TunnelRequest } from '../../contract/mesh.js';

/** edgehub's contract on the bus. */
export interface HubStatus {
  connected: boolean;
  url: string;
  appliedVersion: number;
  epoch: string;
  reconnectAttempt: number;
  lastError?: string;
  outbox: { rows: number; dropped: number };
}

export type HubMessage =
  /** publish the outbox now (normally triggered by every enqueue) */
  | { type: 'edgehub.flush' }
  | { type: 'edgehub.status' }
  /** ask the relay for a mesh tunnel (published on mesh/request; not sent while not connected) */
  | { type: 'edgehub.tunnel'; request: TunnelRequest };

export interface HubReplies {
  'edgehub.flush': void;
  'edgehub.status': HubStatus;
  'edgehub.tunnel': { sent: boolean; reason?: string };
}
