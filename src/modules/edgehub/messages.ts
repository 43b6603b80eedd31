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
  | { type: 'edgehub.status' };

export interface HubReplies {
  'edgehub.flush': void;
  'edgehub.status': HubStatus;
}
