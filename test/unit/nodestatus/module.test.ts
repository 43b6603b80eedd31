/** nodestatus's runtime readiness: edged's record (one route up), reported as soon as it changes. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseConfig } from '../../../src/config/load.js';
import { Bus } from '../../../src/core/bus.js';
import { nullLogger } from '../../../src/core/logger.js';
import { NodeStatus } from '../../../src/modules/nodestatus/module.js';
import type { NodeMessage, NodeReplies } from '../../../src/node/messages.js';
import { nodeServices } from '../../../src/node/services.js';
import { setNodeRuntime } from '../../../src/store/node-runtime.js';
import { openNodeStore } from '../../../src/store/store.js';
import { tmpDir } from '../../helpers/tmp.js';

test("the host report carries edged's runtime record, and a change of it goes up at once", async (t) => {
  const dir = tmpDir(t);
  // no engine at this socket: the module's own ask would say not ready
  const config = parseConfig({ node: { name: 'n1' }, dataDir: dir, paths: { dockerSocket: join(dir, 'no-docker.sock') } });
  const store = openNodeStore(join(dir, 'edgecore.db'));
  t.after(() => store.close());
  const services = nodeServices(config, store, 'test');
  const bus = new Bus<NodeMessage, NodeReplies>();
  const mod = new NodeStatus();
  const ctx = { bus: bus.attach('nodestatus', 'status', () => undefined), services, log: nullLogger(), signal: new AbortController().signal, fail: () => undefined };
  setNodeRuntime(store.meta, { ready: true });
  await mod.start(ctx);
  t.after(() => mod.stop());
  assert.deepEqual(services.uplink.host().runtime, { ready: true }, "edged's record, not the module's failed ask");
  setNodeRuntime(store.meta, { ready: false, message: 'docker engine at x does not answer: gone' });
  const other = bus.attach('edged', 'edged', () => undefined);
  assert.equal(other.publish({ type: 'node.runtime.changed' }), 1);
  await new Promise((r) => setImmediate(r)); // the bus runs handlers on the next turn
  assert.deepEqual(services.uplink.host().runtime, { ready: false, message: 'docker engine at x does not answer: gone' }, 'reported with the message, before the next sample');
});
