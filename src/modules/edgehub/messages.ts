/** edgehub's contract on the bus (filled in by the relay issue). */
export type HubMessage = { type: 'edgehub.flush' };
export interface HubReplies {
  'edgehub.flush': void;
}
