/**
 * The app tap (docs/appchannel.md): what an app publishes on a topic that leaves the node is
 * taken into the outbox before the publisher gets its acknowledgement. A QoS 1 resend of a
 * message already kept (the node crashed after keeping it, before acknowledging it) is
 * recognised by the publisher's client id, packet id and the message's digest, at the start of
 * the publisher's next connection (where its client resends what was not acknowledged).
 */
import type { AcceptResult } from '../../store/app.js';
import type { NodeContext } from '../../node/services.js';
import type { AppTap } from './broker.js';

export function appTap(ctx: NodeContext): AppTap {
  const { app, metrics } = ctx.services;
  const count = (result: AcceptResult, topic: string): void => {
    metrics.count('app_messages_total', { source: 'mqtt', result });
    if (result === 'too-large') ctx.log.warn('app message over the size limit; dropped', { topic, maxBytes: app.maxMessageBytes() });
    else if (result === 'dropped') ctx.log.warn('app outbox full; message refused (drop policy newest)', { topic });
  };
  return {
    wants: (topic) => app.forwards(topic),
    take: (m) => {
      const resend = m.qos > 0 && m.messageId !== undefined ? { client: `mqtt:${m.client}`, messageId: m.messageId, dup: m.maybeResend } : undefined;
      const result = app.accept(m.topic, m.payload, resend);
      count(result, m.topic);
      return result === 'duplicate';
    },
  };
}
