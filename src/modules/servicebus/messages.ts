/** servicebus's contract on the bus. */
export type ServicebusMessage =
  /** a downlink call into an app on the node's loopback (docs/appchannel.md) */
  { type: 'app.call'; port: number; path: string; method: string; headers: Record<string, string>; payload: Buffer };

export interface ServicebusReplies {
  'app.call': { status: number; headers: Record<string, string>; payload: Buffer };
}
