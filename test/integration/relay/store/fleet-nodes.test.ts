/**
 * Node credentials shared by a fleet (store.kind: postgres): a node joins through relay 1; relay 1
 * is killed; the node's MQTT session on relay 2 (its embedded broker) is admitted with the same
 * password, a wrong one is not, and what the node says is heard — relay 2, now the controllers'
 * leader, marks its Node Ready. (Each relay here has its own CA: the node is given relay 2's.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { topics } from '../../../../src/contract/topics.js';
import { pgDatabase, pgMissing } from '../../../helpers/postgres.js';
import { type RelayProc, startFleetRelays, waitFor } from '../harness.js';

const skip = await pgMissing();

interface Node {
  status?: { conditions?: { type: string; status: string }[] };
}

test('two relays on PostgreSQL: a node joined through relay 1 is served by relay 2 after relay 1 is killed', { skip }, async (t) => {
  const db = await pgDatabase(t);
  const [one, two] = (await startFleetRelays(t, db, { prefix: 'edgecore-fleetnode-' })) as [RelayProc, RelayProc];
  const node = `fleet-node-${process.pid}`;
  const joined = await one.join(node);
  await one.stop('SIGKILL');

  const url = `mqtts://127.0.0.1:${two.o.ports.mqtts}`;
  const connect = (password: string): Promise<mqtt.MqttClient> => mqtt.connectAsync(url, { clientId: node, username: joined.username, password, ca: two.caPem, reconnectPeriod: 0, connectTimeout: 10_000 });
  await assert.rejects(connect(`${joined.password}x`), /Not authorized|Bad username or password/i, 'a wrong password is refused by relay 2 too');
  const client = await connect(joined.password);
  t.after(() => client.endAsync());
  await two.proc!.record('leading: this replica holds the lease');
  const presence = { online: true, bootId: 'b1', agentVersion: 'test', timestamp: Date.now() };
  await client.publishAsync(topics.presence(node), JSON.stringify(presence), { qos: 1, retain: true });
  await client.publishAsync(topics.heartbeat(node), JSON.stringify({ v: 0, q: 0, t: Date.now() }), { qos: 0 });
  const ready = await waitFor('relay 2 marks the node Ready', async () => {
    const n = await two.http<Node>('GET', `/api/v1/nodes/${node}`);
    return n.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True');
  });
  assert.equal(ready.status, 'True');
});
