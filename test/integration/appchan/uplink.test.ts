/**
 * Up through an outage: a real app container (busybox running node with mqtt.js, a static pod on
 * a real edgecore process, its eventbus embedded or on mosquitto) publishes 1,000 messages QoS 1 on three topics — KubeEdge's
 * `+/user/#` and `$hw/events/upload/#` forms — while the relay is down, and edgecore is killed
 * once (kill -9) in the middle. Every message is in the node's outbox exactly once. Then the
 * relay comes back: the cloud consumer on the relay's broker gets all 1,000, in order per topic,
 * none twice, and a storage rule kept the `user` ones, readable with `kubectl get --raw`. The
 * rules are applied with the real kubectl 1.32 as KubeEdge YAML (flow-style maps, a Rule before
 * its endpoints).
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { stringify } from 'yaml';
import { ensureTestImage, needDocker, TEST_IMAGE } from '../../helpers/docker.js';
import { nodeRuntimeMounts } from '../../helpers/node-runtime.js';
import { needMqtt } from '../../helpers/mqtt.js';
import { needService } from '../../helpers/service.js';
import { ROOT, tmpDir } from '../../helpers/tmp.js';
import { removeNodeContainers, uniqueName } from '../edged/harness.js';
import { haveKubectl } from '../relay/apiserver/kubectl.js';
import { AppNode, AppRelay, Consumer, containerLines, freePort, waitFor, yamlDocs } from './harness.js';

const COUNT = 1000;
const MOSQUITTO = 'mqtt://127.0.0.1:1883';

async function throughOutage(t: TestContext, broker: 'embedded' | 'mosquitto'): Promise<void> {
  const docker = await needDocker(t);
  if (!docker || !(await needService(t, 'kubectl 1.32', () => haveKubectl(32)))) return;
  if (broker === 'mosquitto' && !(await needMqtt(t, MOSQUITTO))) return;
  await ensureTestImage(docker);
  const dir = tmpDir(t, 'appchan-up-');
  const name = uniqueName(broker === 'embedded' ? 'acu' : 'acm');
  // the shared mosquitto carries others' traffic too: topics of this run only
  const TOPICS = ['plant/user/temperature', 'plant/user/humidity', `$hw/events/upload/vibration-${name}`];
  t.after(() => removeNodeContainers(docker, name));
  const relay = await AppRelay.create(dir);
  await relay.start();
  t.after(() => relay.stop());

  // KubeEdge YAML, unchanged in form: the Rule first, then its endpoints
  const applied = relay.k(
    ['apply', '-f', '-'],
    yamlDocs(
      'apiVersion: v1\nkind: Namespace\nmetadata: { name: plant }',
      `apiVersion: rules.kubeedge.io/v1\nkind: Rule\nmetadata: { name: user-up, namespace: plant, labels: { description: eventbusToMqtt } }\nspec:\n  source: "node-bus"\n  sourceResource: {"topic":"user/#","node_name":"${name}"}\n  target: "cloud"\n  targetResource: {"topic":"sensors"}`,
      `apiVersion: rules.kubeedge.io/v1\nkind: Rule\nmetadata: { name: vibration-up, namespace: plant }\nspec:\n  source: "node-bus"\n  sourceResource: {"topic":"$hw/events/upload/vibration-${name}","node_name":"${name}"}\n  target: "cloud"\n  targetResource: {"topic":"vibration"}`,
      `apiVersion: rules.kubeedge.io/v1\nkind: Rule\nmetadata: { name: user-keep, namespace: plant }\nspec:\n  source: "node-bus"\n  sourceResource: {"topic":"user/#","node_name":"*"}\n  target: "keep"\n  targetResource: {}`,
      'apiVersion: rules.kubeedge.io/v1\nkind: RuleEndpoint\nmetadata: { name: node-bus, namespace: plant, labels: { description: eventbus } }\nspec:\n  ruleEndpointType: "eventbus"\n  properties: {}',
      'apiVersion: rules.kubeedge.io/v1\nkind: RuleEndpoint\nmetadata: { name: cloud, namespace: plant }\nspec:\n  ruleEndpointType: "mqtt"',
      'apiVersion: rules.kubeedge.io/v1\nkind: RuleEndpoint\nmetadata: { name: keep, namespace: plant }\nspec:\n  ruleEndpointType: "storage"\n  properties: {"keep":"24h","maxMessages":"5000"}',
    ),
  );
  assert.match(applied, /rule\.rules\.kubeedge\.io\/user-up created/);
  await waitFor('the rules route', async () => {
    const out = relay.k(['get', 'rules', '-n', 'plant']);
    return (out.match(/\sTrue\s/g) ?? []).length === 3 ? out : undefined;
  });

  const staticPods = join(dir, 'pods');
  mkdirSync(staticPods);
  const node = new AppNode({ dir: join(dir, 'node'), name, join: await relay.join(name), staticPods, ...(broker === 'mosquitto' ? { eventbusUrl: MOSQUITTO } : {}), eventbusPort: await freePort(), servicebusPort: await freePort() });
  await node.start();
  t.after(async () => {
    await node.stop('SIGKILL');
    await node.forgetSession();
  });
  await waitFor('the node has its routes', () => node.routes()?.includes('plant/user/#'));

  // the relay goes away; the app starts publishing
  await relay.stop();
  const app = join(dir, 'app');
  mkdirSync(app);
  copyFileSync(join(ROOT, 'test/integration/appchan/publisher.mjs'), join(app, 'publisher.mjs'));
  const rt = nodeRuntimeMounts();
  const env = { BROKER: node.eventbus, CLIENT_ID: `sensor-${name}`, COUNT: String(COUNT), TOPICS: TOPICS.join(','), INTERVAL_MS: '4' };
  writeFileSync(
    join(staticPods, 'sensor.yaml'),
    stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'sensor', namespace: 'plant' },
      spec: {
        hostNetwork: true,
        restartPolicy: 'Never',
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: 'app',
            image: TEST_IMAGE,
            command: ['/usr/local/bin/node', '/app/publisher.mjs'],
            env: Object.entries(env).map(([k, v]) => ({ name: k, value: v })),
            volumeMounts: [{ name: 'app', mountPath: '/app', readOnly: true }, { name: 'modules', mountPath: '/node_modules', readOnly: true }, ...(rt.mounts as object[])],
          },
        ],
        volumes: [{ name: 'app', hostPath: { path: app, type: 'Directory' } }, { name: 'modules', hostPath: { path: realpathSync(join(ROOT, 'node_modules')), type: 'Directory' } }, ...(rt.volumes as object[])],
      },
    }),
  );
  const lines = () => containerLines(docker, name, 'sensor', 'app');

  // kill -9 in the middle of the flood, then start again
  await waitFor('a third of the messages queued', () => node.appRows().length >= COUNT / 3 || undefined, 120_000, 50);
  await node.stop('SIGKILL');
  const atKill = node.appRows().length;
  assert.ok(atKill < COUNT, `killed mid-flood (${atKill} queued)`);
  await node.start();
  const done = await waitFor('the app published everything', async () => {
    const l = await lines();
    return l.find((x) => x.event === 'done') ? l : undefined;
  }, 120_000, 250);
  // the embedded broker died with edgecore (the app resent what was not acknowledged); mosquitto kept the tap's session
  if (broker === 'embedded') assert.ok(done.filter((x) => x.event === 'connected').length >= 2, 'the app reconnected after the kill');
  await waitFor('the node took everything', () => node.appRows().length >= COUNT || undefined, 60_000, 100);

  // on the node: every message exactly once, in order per topic
  const rows = node.appRows();
  const byTopic = (list: { topic: string; n: number }[]) => TOPICS.map((tp) => list.filter((x) => x.topic === tp).map((x) => x.n));
  const expected = TOPICS.map((_, k) => Array.from({ length: Math.ceil((COUNT - k) / TOPICS.length) }, (_, n) => n));
  assert.deepEqual(byTopic(rows.map((r) => ({ topic: r.topic, n: (JSON.parse(r.payload!) as { n: number }).n }))), expected, 'the outbox holds each message once, in order');

  // the relay returns; a consumer listens before the node reconnects
  await node.stop();
  await relay.start();
  const consumer = await Consumer.connect(relay, 'edgecore/v1/apps/plant/up/#');
  t.after(() => consumer.close());
  await node.start();
  const got = await waitFor('the consumer has everything', () => (consumer.got.length >= COUNT ? consumer.got : undefined), 120_000, 200);
  await new Promise((r) => setTimeout(r, 1000)); // anything more would be a duplicate
  assert.equal(consumer.got.length, COUNT, 'none twice');
  const topicOf = (tp: string): string => (tp.endsWith('/sensors/temperature') ? TOPICS[0]! : tp.endsWith('/sensors/humidity') ? TOPICS[1]! : tp.endsWith('/vibration') ? TOPICS[2]! : tp);
  assert.ok(got.every((m) => m.topic.startsWith(`edgecore/v1/apps/plant/up/${name}/`)), 'delivered under the node that sent them');
  assert.deepEqual(byTopic(got.map((m) => ({ topic: topicOf(m.topic), n: (JSON.parse(m.payload) as { n: number }).n }))), expected, 'in order per topic, all of them');

  // the storage rule kept the user/# ones, readable through the API
  const user = expected[0]!.length + expected[1]!.length;
  const kept = await waitFor('kept in storage', async () => {
    const l = JSON.parse(relay.k(['get', '--raw', '/apis/rules.kubeedge.io/v1/namespaces/plant/rules/user-keep/messages?limit=500'])) as { items: { topic: string; payload: string; node: string }[]; metadata: { continue?: string } };
    return l.items.length === 500 && l.metadata.continue ? l : undefined;
  });
  assert.equal(kept.items[0]!.node, name);
  const rest = JSON.parse(relay.k(['get', '--raw', `/apis/rules.kubeedge.io/v1/namespaces/plant/rules/user-keep/messages?limit=500&continue=${kept.metadata.continue}`])) as { items: { payload: string }[]; metadata: { continue?: string } };
  assert.equal(kept.items.length + rest.items.length, user, 'every user/# message kept, once');
  assert.equal(rest.metadata.continue, undefined);

  // counters in status
  await waitFor('status counts', async () => {
    const s = await relay.ruleStatus('plant', 'user-up');
    return s.messages === user && s.successMessages === user && s.drops === 0 ? s : undefined;
  });
  const table = relay.k(['get', 'rules', '-n', 'plant']);
  assert.match(table, new RegExp(`user-up\\s+node-bus\\s+cloud\\s+True\\s+${user}\\s+${user}\\s+0\\s+0\\s`));
}

test('1,000 messages from an app container through a relay outage and a kill -9 (embedded eventbus): all of them, in order per topic, none twice', { timeout: 300_000 }, (t) => throughOutage(t, 'embedded'));

test('1,000 messages from an app container through a relay outage and a kill -9 (eventbus on mosquitto): all of them, in order per topic, none twice', { timeout: 300_000 }, (t) => throughOutage(t, 'mosquitto'));
