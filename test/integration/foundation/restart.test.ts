/**
 * A module that crashes is restarted with backoff while the others keep serving, in the real
 * node assembly (real store file, real metamanager, real bus).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseConfig } from '../../../src/config/load.js';
import { Bus } from '../../../src/core/bus.js';
import { nullLogger } from '../../../src/core/logger.js';
import { Supervisor } from '../../../src/core/supervisor.js';
import type { NodeMessage, NodeReplies } from '../../../src/node/messages.js';
import { nodeServices, type NodeContext, type NodeModule } from '../../../src/node/services.js';
import { MetaManager } from '../../../src/modules/metamanager/module.js';
import { openNodeStore } from '../../../src/store/store.js';
import { tmpDir } from '../../helpers/tmp.js';

/** A module that crashes from a timer (outside any bus handler) on its first two runs. */
class Crashy implements NodeModule {
  readonly name = 'crashy';
  readonly group = 'test';
  runs = 0;
  async start(ctx: NodeContext): Promise<void> {
    this.runs++;
    if (this.runs <= 2) setTimeout(() => ctx.fail(new Error(`crash #${this.runs}`)), 5);
  }
  async stop(): Promise<void> {}
}

test('a crashing module is restarted with backoff; metamanager keeps serving throughout', async (t) => {
  const dir = tmpDir(t);
  const config = parseConfig({ dataDir: dir, modules: { metamanager: { api: { enabled: false } } } });
  const store = openNodeStore(join(dir, 'edgecore.db'));
  t.after(() => store.close());
  const services = nodeServices(config, store, 'test');
  const bus = new Bus<NodeMessage, NodeReplies>();
  const sup = new Supervisor(bus, services, nullLogger(), { stopTimeoutMs: 1000 });
  const crashy = new Crashy();
  const policy = { initialMs: 20, maxMs: 80, factor: 2, jitter: 0, maxRestarts: 0, resetAfterMs: 60_000 };
  sup.add({ module: new MetaManager(), enabled: true, restart: policy });
  sup.add({ module: crashy, enabled: true, restart: policy });
  const states: string[] = [];
  sup.on((e) => {
    if (e.module === 'crashy') states.push(e.state);
  });
  await sup.startAll();
  const client = bus.attach('client', 'test', () => undefined);
  const deadline = Date.now() + 60_000; // only bounds a failing test
  while (crashy.runs < 3 || sup.status()[1]!.state !== 'running') {
    assert.ok(Date.now() < deadline, `crashy did not come back: ${states.join(',')}`);
    // metamanager answers while crashy is down
    const r = await client.request('metamanager', { type: 'desired.apply', origin: 'local', key: { kind: 'ConfigMap', namespace: 'default', name: `c${crashy.runs}` }, spec: { data: {} } });
    assert.equal(r.resource.kind, 'ConfigMap');
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(sup.status()[1]!.restarts, 2);
  assert.equal(sup.status()[0]!.restarts, 0);
  assert.ok(states.filter((s) => s === 'backoff').length >= 2);
  assert.ok(store.resources.list('ConfigMap').length >= 1);
  await sup.stopAll();
});
