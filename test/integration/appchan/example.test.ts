/**
 * examples/appchan/sensor.yaml as a user runs it: applied with the real kubectl 1.32 (only the
 * node's name, the servicebus port and the sample interval changed), its pod placed through the
 * API on a real edgecore with edged on Docker. The pod samples a noisy sensor and posts only the
 * changes; a cloud consumer on the relay's broker receives them. The node's link to the relay is
 * cut for a while (both keep running): the pod's posts land in the node's outbox, and when the
 * link returns the consumer has every change the pod sent, in order, none twice.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureTestImage, needDocker } from '../../helpers/docker.js';
import { ROOT, tmpDir } from '../../helpers/tmp.js';
import { needService } from '../../helpers/service.js';
import { removeNodeContainers, uniqueName } from '../edged/harness.js';
import { haveKubectl } from '../relay/apiserver/kubectl.js';
import { AppNode, AppRelay, Consumer, containerLines, Cuttable, freePort, waitFor } from './harness.js';

interface Reading {
  n: number;
  tenths: number;
}

test('the sensor example: only changes go up, and the cloud consumer gets every one through a link outage, in order, none twice', { timeout: 240_000 }, async (t) => {
  const docker = await needDocker(t);
  if (!docker || !(await needService(t, 'kubectl 1.32', () => haveKubectl(32)))) return;
  await ensureTestImage(docker);
  const dir = tmpDir(t, 'appchan-example-');
  const name = uniqueName('ace');
  const relay = await AppRelay.create(dir);
  await relay.start();
  t.after(() => relay.stop());

  const cut = await Cuttable.to(relay.ports.mqtts);
  t.after(() => cut.close());
  const node = new AppNode({ dir: join(dir, 'node'), name, join: await relay.join(name), relayUrl: cut.url, edged: true, eventbusPort: await freePort(), servicebusPort: await freePort() });
  await node.start();
  // edged first (it would start the pod again), then its containers
  t.after(async () => {
    await node.stop('SIGKILL');
    await removeNodeContainers(docker, name);
  });

  const consumer = await Consumer.connect(relay, `edgecore/v1/apps/plant/up/${name}/temperature`);
  t.after(() => consumer.close());
  const example = readFileSync(join(ROOT, 'examples/appchan/sensor.yaml'), 'utf8')
    .replace('nodeName: edge-demo', `nodeName: ${name}`)
    .replace('"http://127.0.0.1:9060"', `"${node.servicebus}"`)
    .replace('{ name: INTERVAL, value: "1" }', '{ name: INTERVAL, value: "0.02" }');
  assert.match(relay.k(['apply', '-f', '-'], example), /rule\.rules\.kubeedge\.io\/temperature-up created/);

  const received = (): Reading[] => consumer.got.map((m) => JSON.parse(m.payload) as Reading);
  const sent = async (): Promise<Reading[]> => (await containerLines(docker, name, 'sensor', 'sensor')) as unknown as Reading[];
  await waitFor('changes reach the consumer', () => (received().length >= 3 ? true : undefined), 120_000);

  // the link goes down; the pod goes on posting into the node's outbox
  cut.down();
  const before = received().length;
  await waitFor('changes queued on the node while the link is down', () => (node.appRows().length >= 3 ? true : undefined), 60_000);
  const queued = node.appRows().length;
  cut.up();

  const last = (await sent()).at(-1)!.n;
  const got = await waitFor('every change the pod sent', () => (received().length > last ? received() : undefined), 60_000);
  assert.ok(got.length >= before + queued, `the queued changes arrived (${before} before the cut, ${queued} queued, ${got.length} received)`);
  assert.deepEqual(
    got.map((r) => r.n),
    Array.from({ length: got.length }, (_, i) => i),
    'every change once, in order',
  );
  const logged = await sent();
  assert.deepEqual(got, logged.slice(0, got.length), 'what the pod sent, as it sent it');
  for (let i = 1; i < got.length; i++) assert.ok(Math.abs(got[i]!.tenths - got[i - 1]!.tenths) >= 5, `only changes of 0.5 °C or more go up (${got[i - 1]!.tenths} → ${got[i]!.tenths})`);
});
