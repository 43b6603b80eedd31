/**
 * The node's /metrics: a real daemon (metamanager, eventbus, devicetwin with a virtual device,
 * nodestatus), its Prometheus text checked by `promtool check metrics`, then scraped by a real
 * Prometheus (Debian's package) that answers a query with the daemon's own values.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseConfig } from '../../../src/config/load.js';
import { nullLogger } from '../../../src/core/logger.js';
import { startNode } from '../../../src/node/daemon.js';
import { needService } from '../../helpers/service.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';
import { freePort } from '../relay/harness.js';

const DEVICE_API = 'devices.kubeedge.io/v1beta1';

test('/metrics passes promtool and a real Prometheus scrapes it', { timeout: 120_000 }, async (t) => {
  if (!(await needService(t, 'promtool and prometheus (apt-get install prometheus)', async () => {
    for (const b of ['promtool', 'prometheus']) if (spawnSync(b, ['--version']).status !== 0) throw new Error(`${b} not found`);
  }))) return;
  const dir = tmpDir(t, 'metrics-it-');
  const config = parseConfig({
    node: { name: 'metrics-node' },
    dataDir: join(dir, 'data'),
    log: { level: 'silent' },
    ops: { port: 0 },
    modules: { metamanager: { api: { port: 0 } }, eventbus: { port: 0 }, edged: { enabled: false }, nodestatus: { periodSeconds: 1 } },
  });
  const node = await startNode({ config, log: nullLogger(), version: '0.1.0' });
  t.after(() => node.stop());
  const res = node.store.resources;
  res.put({ kind: 'DeviceModel', namespace: 'default', name: 'm' }, { apiVersion: DEVICE_API, kind: 'DeviceModel', metadata: { name: 'm', namespace: 'default' }, spec: { protocol: 'virtual', properties: [{ name: 'v', type: 'INT', accessMode: 'ReadOnly' }] } }, { origin: 'local' });
  res.put(
    { kind: 'Device', namespace: 'default', name: 'thermo-1' },
    { apiVersion: DEVICE_API, kind: 'Device', metadata: { name: 'thermo-1', namespace: 'default' }, spec: { deviceModelRef: { name: 'm' }, nodeName: 'metrics-node', protocol: { protocolName: 'virtual' }, properties: [{ name: 'v', visitors: { protocolName: 'virtual', configData: { signal: 'echo', initial: 1 } }, collectCycle: 100, reportCycle: 100 }] } },
    { origin: 'local' },
  );
  const url = `http://127.0.0.1:${node.opsPort}/metrics`;
  const text = await waitFor('driver reads counted', async () => {
    const body = await (await fetch(url)).text();
    return /edgecore_driver_reads_total\{namespace="default",device="thermo-1"\} [1-9]/.test(body) ? body : undefined;
  });
  assert.match(text, /^edgecore_module_up\{module="metamanager"\} 1$/m);
  assert.match(text, /^edgecore_module_restarts_total\{module="devicetwin"\} 0$/m);
  assert.match(text, /^# TYPE edgecore_outbox_dropped_total counter$/m);
  assert.match(text, /^edgecore_node_status_samples_total [1-9]/m);
  for (const g of ['outbox_rows', 'outbox_dropped_total', 'app_outbox_rows', 'app_outbox_bytes', 'app_outbox_dropped_total']) assert.match(text, new RegExp(`^edgecore_${g} \\d+$`, 'm'), g);
  assert.match(text, /^process_resident_memory_bytes \d+/m);
  const file = join(dir, 'metrics.txt');
  writeFileSync(file, text);
  const check = spawnSync('sh', ['-c', `promtool check metrics < '${file}'`], { encoding: 'utf8' });
  assert.equal(check.status, 0, `promtool: ${check.stdout}${check.stderr}`);
  assert.equal(check.stdout + check.stderr, '', 'no lint findings either');
  assert.equal((await fetch(`http://127.0.0.1:${node.opsPort}/healthz`)).status, 200);

  const promPort = await freePort();
  const promCfg = join(dir, 'prometheus.yml');
  writeFileSync(promCfg, `global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: edgecore\n    static_configs: [{ targets: ['127.0.0.1:${node.opsPort}'] }]\n`);
  const prom = spawn('prometheus', [`--config.file=${promCfg}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: 'ignore' });
  t.after(() => prom.kill('SIGKILL'));
  const value = await waitFor('Prometheus has scraped the node', async () => {
    const q = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent('edgecore_module_up{module="devicetwin",job="edgecore"}')}`).catch(() => undefined);
    if (!q?.ok) return undefined;
    const body = (await q.json()) as { data: { result: { value: [number, string] }[] } };
    return body.data.result[0]?.value[1];
  }, 60_000, 500);
  assert.equal(value, '1');
  const up = (await (await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=up`)).json()) as { data: { result: { value: [number, string] }[] } };
  assert.equal(up.data.result[0]?.value[1], '1', 'the scrape itself succeeded');
});
