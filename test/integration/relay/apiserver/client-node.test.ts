/**
 * @kubernetes/client-node against a real `edgerelay run` over HTTPS with the relay's CA: list,
 * watch, create, patch, delete, and the tokens.
 */
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, Watch, type ApiException } from '@kubernetes/client-node';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tmpDir } from '../../../helpers/tmp.js';
import { waitFor } from '../../../helpers/wait.js';
import { ADMIN_TOKEN, KubeRelay, READ_ONLY_TOKEN } from './kubectl.js';

function config(relay: KubeRelay, token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'relay', server: relay.url, caData: Buffer.from(relay.ca).toString('base64'), skipTLSVerify: false }],
    users: [{ name: 'u', token }],
    contexts: [{ name: 'relay', cluster: 'relay', user: 'u' }],
    currentContext: 'relay',
  });
  return kc;
}

const codeOf = async (p: Promise<unknown>): Promise<number> => {
  try {
    await p;
    return 0;
  } catch (e) {
    return (e as ApiException<unknown>).code;
  }
};

test('client-node: create, list with a label selector, watch, merge and JSON patches, delete; read-only refused writes', async (t) => {
  const relay = new KubeRelay(tmpDir(t, 'edgecore-client-node-'));
  await relay.start();
  t.after(() => relay.stop());
  const kc = config(relay, ADMIN_TOKEN);
  const core = kc.makeApiClient(CoreV1Api);

  const events: string[] = [];
  const ac = await new Watch(kc).watch('/api/v1/namespaces/default/configmaps', { allowWatchBookmarks: true, resourceVersion: '0' }, (type, obj: { metadata: { name: string } }) => {
    events.push(`${type}:${obj.metadata.name}`);
  }, () => undefined);
  t.after(() => ac.abort());

  const made = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'cn', labels: { app: 'cn' } }, data: { a: '1' } } });
  assert.match(made.metadata!.uid!, /^[0-9a-f-]{36}$/);
  await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'other' } } });
  const list = await core.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'app=cn' });
  assert.deepEqual(list.items.map((i) => i.metadata!.name), ['cn']);
  assert.match(list.metadata!.resourceVersion!, /^\d+$/);

  const merged = await core.patchNamespacedConfigMap({ name: 'cn', namespace: 'default', body: { data: { b: '2' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  assert.deepEqual(merged.data, { a: '1', b: '2' });
  const jsonPatched = await core.patchNamespacedConfigMap({ name: 'cn', namespace: 'default', body: [{ op: 'remove', path: '/data/a' }] });
  assert.deepEqual(jsonPatched.data, { b: '2' });
  await core.deleteNamespacedConfigMap({ name: 'other', namespace: 'default' });
  await waitFor('the watch saw every change', () => events.includes('DELETED:other') && events.filter((e) => e === 'MODIFIED:cn').length === 2);
  assert.deepEqual(events.filter((e) => !e.startsWith('BOOKMARK')), ['ADDED:cn', 'ADDED:other', 'MODIFIED:cn', 'MODIFIED:cn', 'DELETED:other']);

  const e = await codeOf(core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'cn' } } }));
  assert.equal(e, 409);
  const ro = config(relay, READ_ONLY_TOKEN).makeApiClient(CoreV1Api);
  assert.equal((await ro.listNamespacedConfigMap({ namespace: 'default' })).items.length, 1);
  assert.equal(await codeOf(ro.deleteNamespacedConfigMap({ name: 'cn', namespace: 'default' })), 403);
  assert.equal(await codeOf(ro.listNamespacedSecret({ namespace: 'default' })), 403);
  assert.equal(await codeOf(config(relay, 'wrong').makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace: 'default' })), 401);
});
