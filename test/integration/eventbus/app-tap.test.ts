/**
 * The app tap on a real mosquitto (the CI's, default configuration: `max_queued_messages` 1,000
 * per session): what apps publish while edgecore is away waits in the tap's persistent session.
 * A topic matching two of the tap's filters (`+/user/#` and a rule's `plant/user/#`) used to be
 * queued twice, one copy per subscription, so the broker dropped acknowledged messages after 500.
 * The sink below stands in for the node's outbox (it records what the tap takes).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import mqtt from 'mqtt';
import { nullLogger } from '../../../src/core/logger.js';
import { connectExternalBroker, type AppTap } from '../../../src/modules/eventbus/broker.js';
import { subscriptionIdOf } from '../../../src/modules/eventbus/overlap.js';
import { forwarded } from '../../../src/contract/appchan.js';
import { needMqtt } from '../../helpers/mqtt.js';

const URL = 'mqtt://127.0.0.1:1883';

function sink(filters: readonly string[]): AppTap & { taken: string[] } {
  const taken: string[] = [];
  return { taken, wants: (topic) => forwarded(filters, topic), take: (m) => (taken.push(`${m.topic} ${m.payload.toString()}`), false) };
}

async function publish(topic: string, count: number): Promise<string[]> {
  const p = await mqtt.connectAsync(URL, { clientId: `app-${randomBytes(4).toString('hex')}` });
  const sent: string[] = [];
  for (let i = 0; i < count; i++) {
    await p.publishAsync(topic, String(i), { qos: 1 });
    sent.push(`${topic} ${i}`);
  }
  await p.endAsync();
  return sent;
}

async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function endSession(t: TestContext, clientId: string): Promise<void> {
  t.after(async () => {
    const c = await mqtt.connectAsync(URL, { clientId, clean: true, protocolVersion: 5, properties: { sessionExpiryInterval: 0 } });
    await c.endAsync();
  });
}

test('a message two of the tap\'s filters match is queued once: 800 published while edgecore is away, all 800 taken, none twice', { timeout: 60_000 }, async (t) => {
  if (!(await needMqtt(t, URL))) return;
  const run = randomBytes(4).toString('hex');
  const clientId = `edgecore-apps-tap-${run}`;
  await endSession(t, clientId);
  const filters = [`p${run}/user/#`];
  const first = sink(filters);
  let link = await connectExternalBroker(URL, `edgecore-eventbus-${run}`, nullLogger(), { clientId, expirySeconds: 300, tap: first, filters });
  await link.close();
  const sent = await publish(`p${run}/user/temperature`, 800);
  const again = sink(filters);
  link = await connectExternalBroker(URL, `edgecore-eventbus-${run}`, nullLogger(), { clientId, expirySeconds: 300, tap: again, filters });
  t.after(() => link.close());
  await until('800 taken', () => again.taken.length >= 800).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 500)); // a second copy would arrive by now
  assert.deepEqual(again.taken, sent);
});

test('a session kept from before (the covered filter still subscribed): each message taken once, and the covered subscription is dropped', { timeout: 60_000 }, async (t) => {
  if (!(await needMqtt(t, URL))) return;
  const run = randomBytes(4).toString('hex');
  const clientId = `edgecore-apps-tap-${run}`;
  await endSession(t, clientId);
  const filters = [`p${run}/user/#`];
  // what an earlier edgecore left: both filters subscribed in the session, each with its identifier
  const old = await mqtt.connectAsync(URL, { clientId, clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 300 } });
  for (const f of ['+/user/#', filters[0]!]) await old.subscribeAsync(f, { qos: 1, nl: true, properties: { subscriptionIdentifier: subscriptionIdOf(f) } });
  await old.endAsync();
  const before = await publish(`p${run}/user/a`, 100);
  const tap = sink(filters);
  let link = await connectExternalBroker(URL, `edgecore-eventbus-${run}`, nullLogger(), { clientId, expirySeconds: 300, tap, filters });
  await until('the queued 100', () => tap.taken.length >= 100);
  await new Promise((r) => setTimeout(r, 500)); // a second copy would arrive by now
  assert.deepEqual(tap.taken, before);
  // the covered filter was unsubscribed: 800 more while away fit the session's queue once each
  await link.close();
  const after = await publish(`p${run}/user/b`, 800);
  const next = sink(filters);
  link = await connectExternalBroker(URL, `edgecore-eventbus-${run}`, nullLogger(), { clientId, expirySeconds: 300, tap: next, filters });
  t.after(() => link.close());
  await until('800 taken', () => next.taken.length >= 800).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(next.taken, after);
});
