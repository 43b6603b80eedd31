/**
 * Issue 18, point 4 with the issue's own figures, against a real relay on the embedded broker and
 * on a real mosquitto running the config the relay writes; the attacker is an MQTT client holding
 * a joined node's own credentials:
 *
 *  - 2,000 retained 50 KB junk messages (half on a topic of its own subtree, half on its report
 *    channel): none is kept — a fresh subscriber to the node's subtree receives no junk;
 *  - 2,000 `sync` requests against a ~500 KB desired document: the node gets a bounded number of
 *    documents (the burst, then one per interval), not 2,000;
 *  - a 50 KB heartbeat (limit 4 KiB) is refused at the contract edge, naming the limit.
 *
 * Outcomes, not timings: the one bound that involves time is derived from the token bucket.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { TOPIC_ROOT, topics } from '../../../src/contract/topics.js';
import { SYNC_REPUBLISH } from '../../../src/relay/nodelink/ingress.js';
import { needService } from '../../helpers/service.js';
import { tmpDir } from '../../helpers/tmp.js';
import { freePort, Proc, RelayProc, relayPorts, waitFor, type Joined } from './harness.js';

type Mode = 'embedded' | 'mosquitto';

interface World {
  relay: RelayProc;
  url: string;
  join(node: string): Promise<Joined>;
}

async function world(t: TestContext, mode: Mode): Promise<World | undefined> {
  const dir = tmpDir(t, 'edgecore-abuse-');
  if (mode === 'embedded') {
    const relay = new RelayProc({ dir, ports: await relayPorts(), plaintext: true });
    t.after(() => relay.stop('SIGKILL'));
    await relay.start();
    const ready = await relay.proc!.record('edgerelay ready');
    return { relay, url: (ready.broker as Record<string, string>).mqtt!, join: (n) => relay.join(n) };
  }
  const ok = await needService(t, 'mosquitto binary', async () => {
    await new Promise<void>((resolve, reject) => {
      const p = spawn('mosquitto', ['-h']);
      p.once('error', reject);
      p.once('exit', () => resolve());
    });
  });
  if (!ok) return undefined;
  const port = await freePort();
  mkdirSync(join(dir, 'conf.d'));
  const files = { passwordFile: join(dir, 'edge.passwd'), aclFile: join(dir, 'edge.acl'), confFile: join(dir, 'conf.d', 'edgerelay.conf') };
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'use_username_as_clientid true', 'user root', `include_dir ${join(dir, 'conf.d')}`, ''].join('\n'));
  const url = `mqtt://127.0.0.1:${port}`;
  const relay = new RelayProc({ dir, ports: await relayPorts(), plaintext: true, extra: { broker: { mode: 'external', external: { url, username: '_relay', password: 'relay-secret', ...files } } } });
  t.after(() => relay.stop('SIGKILL'));
  await relay.start();
  const mosq = new Proc('mosquitto', spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] }));
  t.after(() => mosq.stop('SIGKILL'));
  await waitFor('mosquitto listening', () => new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  }));
  await relay.proc!.record('connected to external broker');
  return {
    relay,
    url,
    join: async (n) => {
      const j = await relay.join(n);
      mosq.child.kill('SIGHUP');
      await waitFor(`mosquitto lets ${n} in`, async () => {
        const c = await connectAs(url, j).catch(() => undefined);
        await c?.endAsync(true);
        return !!c;
      });
      return j;
    },
  };
}

const connectAs = (url: string, j: Joined): Promise<MqttClient> =>
  mqtt.connectAsync(url, { clientId: j.username, username: j.username, password: j.password, reconnectPeriod: 0, clean: true });

/** Publish at QoS 1: 'acknowledged' on PUBACK, 'closed' when the broker closes the connection first. */
function publishOutcome(c: MqttClient, topic: string, payload: Buffer | string, retain = false): Promise<string> {
  return new Promise((resolve) => {
    const onClose = (): void => resolve('closed');
    c.once('close', onClose);
    c.publish(topic, payload, { qos: 1, retain }, (err) => {
      c.off('close', onClose);
      resolve(err ? `error: ${err.message}` : 'acknowledged');
    });
  });
}

/** The retained messages a fresh subscriber to the node's subtree is handed. */
async function retainedIn(url: string, j: Joined): Promise<string[]> {
  const c = await connectAs(url, j);
  const got: string[] = [];
  c.on('message', (topic, payload, packet) => {
    if (packet.retain && payload.length) got.push(topic);
  });
  await c.subscribeAsync(`${TOPIC_ROOT}/${j.username}/#`, { qos: 1 });
  // a round trip after the SUBACK: the retained messages were sent before it
  await c.publishAsync(topics.heartbeat(j.username), JSON.stringify({ v: 0, q: 0, t: Date.now() }), { qos: 1 });
  await c.endAsync(true);
  return got;
}

for (const mode of ['embedded', 'mosquitto'] as const) {
  test(`${mode}: 2,000 retained 50 KB junk messages from a node: none is kept`, async (t) => {
    const w = await world(t, mode);
    if (!w) return;
    const j = await w.join(`junk-${process.pid}`);
    const body = Buffer.alloc(50 * 1024, 0x6a);
    let c = await connectAs(w.url, j);
    const outcomes: Record<string, number> = {};
    for (let i = 0; i < 2000; i++) {
      const topic = i % 2 === 0 ? `${TOPIC_ROOT}/${j.username}/junk/${i}` : topics.reportedState(j.username);
      const r = await publishOutcome(c, topic, body, true);
      outcomes[r] = (outcomes[r] ?? 0) + 1;
      if (r === 'closed') c = await connectAs(w.url, j);
    }
    await c.endAsync(true);
    assert.ok(!Object.keys(outcomes).some((k) => k.startsWith('error')), JSON.stringify(outcomes));
    if (mode === 'embedded') assert.deepEqual(outcomes, { closed: 2000 }, 'the embedded broker refuses each (and closes the connection)');
    // mosquitto cannot refuse the retain flag: the relay clears what its ACL let through
    const junk = await waitFor('no junk retained', async () => {
      const r = (await retainedIn(w.url, j)).filter((topic) => topic !== topics.desired(j.username) && topic !== topics.presence(j.username));
      return r.length === 0 ? r : undefined;
    });
    assert.deepEqual(junk, []);
    assert.equal((await fetch(`${w.relay.api}/healthz`)).status, 200);
  });

  test(`${mode}: 2,000 sync requests against a ~500 KB document cost a bounded number of documents`, async (t) => {
    const w = await world(t, mode);
    if (!w) return;
    const node = `sync-${process.pid}`;
    const j = await w.join(node);
    for (let i = 0; i < 10; i++) {
      await w.relay.http('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `big-${i}` }, data: { blob: 'z'.repeat(50 * 1024) } });
    }
    const envFrom = Array.from({ length: 10 }, (_, i) => ({ configMapRef: { name: `big-${i}` } }));
    await w.relay.http('POST', '/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'holder' }, spec: { nodeName: node, containers: [{ name: 'c', image: 'busybox:1', envFrom }] } });

    const c = await connectAs(w.url, j);
    t.after(() => c.endAsync(true));
    const docs: number[] = [];
    c.on('message', (topic, payload) => {
      if (topic === topics.desired(node)) docs.push(payload.length);
    });
    await c.subscribeAsync(topics.desired(node), { qos: 1 });
    await waitFor('the ~500 KB document', () => docs.some((n) => n > 500_000) || undefined);
    const before = docs.length;
    const started = Date.now();
    const sync = JSON.stringify({ epoch: 'e', appliedVersion: 0, bootId: 'b', timestamp: Date.now() });
    await Promise.all(Array.from({ length: 2000 }, () => c.publishAsync(topics.sync(node), sync, { qos: 1 })));
    // the one that waited for its token arrives
    await waitFor('a document after the flood', () => docs.length > before || undefined);
    await new Promise((r) => setTimeout(r, 2 * SYNC_REPUBLISH.intervalMs));
    const elapsed = Date.now() - started;
    const sent = docs.length - before;
    const bound = SYNC_REPUBLISH.burst + Math.ceil(elapsed / SYNC_REPUBLISH.intervalMs) + 1;
    assert.ok(sent <= bound, `${sent} documents for 2,000 requests in ${elapsed} ms (bound ${bound})`);
    assert.equal((await fetch(`${w.relay.api}/healthz`)).status, 200);
  });
}

test('embedded: a 50 KB heartbeat (limit 4 KiB) is refused at the contract edge, naming the limit; the connection stays', async (t) => {
  const w = (await world(t, 'embedded'))!;
  const j = await w.join(`big-${process.pid}`);
  const c = await connectAs(w.url, j);
  t.after(() => c.endAsync(true));
  assert.equal(await publishOutcome(c, topics.heartbeat(j.username), Buffer.alloc(50 * 1024, 0x78)), 'acknowledged');
  const r = await w.relay.proc!.record('refused a malformed message');
  assert.match(String((r.issues as string[])[0]), /payload of 51200 bytes is over the 4096-byte limit of heartbeat/);
  assert.equal(await publishOutcome(c, topics.heartbeat(j.username), JSON.stringify({ v: 0, q: 0, t: Date.now() })), 'acknowledged');
});
