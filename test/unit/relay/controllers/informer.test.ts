import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../../../src/core/logger.js';
import type { ApiClient } from '../../../../src/relay/apiserver/client.js';
import { SharedInformers } from '../../../../src/relay/controllers/informer.js';
import { fixture } from '../apiserver/fixture.js';

const log = createLogger({ level: 'error', format: 'json', sink: { write: () => undefined } }, 'test');
const CM = { group: '', resource: 'configmaps' };
const SECRETS = { group: '', resource: 'secrets' };

test('shared informers: no handler runs before every informer has its first list (a controller never sees half the world)', async () => {
  const f = await fixture();
  await f.admin.create(CM, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'default' } });
  await f.admin.create(SECRETS, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' } });
  // the secrets' list is slow: the configmaps' list is done long before it
  let release!: () => void;
  const slow = new Promise<void>((r) => (release = r));
  const client = f.client();
  const gated = new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === 'list') {
        return async (ref: { resource: string }, ...rest: unknown[]) => {
          if (ref.resource === 'secrets') await slow;
          return (target.list as (...a: unknown[]) => unknown).call(target, ref, ...rest);
        };
      }
      return Reflect.get(target, prop, receiver);
    },
  }) as ApiClient;
  const informers = new SharedInformers(gated, log);
  const cms = informers.for(CM);
  const secrets = informers.for(SECRETS);
  const seen: number[] = [];
  cms.onChange(() => seen.push(secrets.list().length));
  const started = informers.start();
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(seen, [], 'held while the secrets are still being listed');
  release();
  await started;
  assert.deepEqual(seen, [1], 'the first notice comes with the secrets listed');
  // and afterwards notices flow at once
  await f.admin.create(CM, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b', namespace: 'default' } });
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(seen, [1, 1]);
  informers.stop();
});
