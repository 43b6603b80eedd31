/**
 * The relay on an external broker whose member refuses its subscriptions (SUBACK 0x80: a NATS
 * member busy in JetStream, or an ACL): the relay drops the link and subscribes again, rather than
 * staying connected and deaf to every node. The broker is a real aedes that negates the relay's
 * first SUBSCRIBE.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { relaySubscriptions } from '../../../src/contract/topics.js';
import { aedesBroker } from '../../helpers/mqtt.js';
import { tmpDir } from '../../helpers/tmp.js';
import { RelayProc, relayPorts, waitFor } from './harness.js';

test('a refused subscription on the external broker: the relay reconnects and subscribes again', async (t) => {
  const { url, aedes } = await aedesBroker(t);
  // the relay's subscription of every node's sync requests: refused the first time
  const filter = relaySubscriptions[0];
  const subscribes: { client: string; granted: boolean }[] = [];
  aedes.authorizeSubscribe = (client, sub, done) => {
    if (client?.id !== 'edgerelay' || sub.topic !== filter) return done(null, sub);
    const granted = subscribes.length > 0;
    subscribes.push({ client: client.id, granted });
    done(null, granted ? sub : null); // null: aedes answers 0x80 for this filter
  };
  const relay = new RelayProc({ dir: tmpDir(t, 'edgecore-extsub-'), ports: await relayPorts(), plaintext: true, extra: { broker: { mode: 'external', external: { url, protocolVersion: 4 } } } });
  t.after(() => relay.stop());
  await relay.start();
  await waitFor(`the relay subscribed to ${filter} again and was granted`, () => subscribes.some((s) => s.client === 'edgerelay' && s.granted) || undefined);
  assert.deepEqual(subscribes.map((s) => s.granted).slice(0, 2), [false, true], 'refused first, granted after the reconnect');
});
