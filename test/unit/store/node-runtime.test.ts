import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { nodeRuntime, setNodeRuntime } from '../../../src/store/node-runtime.js';
import { openNodeStore } from '../../../src/store/store.js';
import { tmpDir } from '../../helpers/tmp.js';

test('the node runtime state: absent until set, reports changes only, survives a reopen', (t) => {
  const file = join(tmpDir(t), 'n.db');
  let s = openNodeStore(file);
  assert.equal(nodeRuntime(s.meta), undefined);
  assert.equal(setNodeRuntime(s.meta, { ready: false, message: 'docker engine at /x does not answer' }), true);
  assert.equal(setNodeRuntime(s.meta, { ready: false, message: 'docker engine at /x does not answer' }), false);
  s.close();
  s = openNodeStore(file);
  t.after(() => s.close());
  assert.deepEqual(nodeRuntime(s.meta), { ready: false, message: 'docker engine at /x does not answer' });
  assert.equal(setNodeRuntime(s.meta, { ready: true }), true);
  assert.deepEqual(nodeRuntime(s.meta), { ready: true });
});
