/** eventbus's contract on the bus. */
export type EventbusMessage =
  /** a downlink message for apps (docs/appchannel.md): published on the node-local broker, QoS 1 */
  { type: 'app.publish'; topic: string; payload: Buffer };

export interface EventbusReplies {
  'app.publish': void;
}
