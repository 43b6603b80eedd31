import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nullLogger } from '../../../src/core/logger.js';
import { CredentialsPoll } from '../../../src/relay/credentials-poll.js';

test('credentials poll: nothing happens until the revision moves; then the files, the nodes joined elsewhere, and the sessions with a changed password', async () => {
  let revision = 3;
  const nodes = ['a', 'b'];
  const did: string[] = [];
  const poll = new CredentialsPoll({
    credentials: {
      credentialsRevision: async () => revision,
      listNodes: async () => nodes.map((name) => ({ name, passwordHash: 'h', labels: {}, joinedAt: 0 }) as never),
    },
    rewriteFiles: async () => void did.push('files'),
    knows: (n) => n === 'a',
    joined: (n) => void did.push(`joined ${n}`),
    sessions: { connected: () => ['a', 'c'], changed: async (n) => n === 'c', close: (n) => void did.push(`closed ${n}`) },
    log: nullLogger(),
  });
  await poll.start();
  poll.stop();
  await poll.pollOnce();
  assert.deepEqual(did, [], 'the revision read at start: nothing changed');
  revision = 4;
  await poll.pollOnce();
  assert.deepEqual(did, ['files', 'joined b', 'closed c']);
  await poll.pollOnce();
  assert.equal(did.length, 3, 'once per change');
});
