/**
 * The relay's /metrics: a relay process with a joined node (a real edgecore process), its
 * Prometheus text accepted by `promtool check metrics`, refused without a token, and scraped over
 * HTTPS with the relay's CA and a bearer token by a real Prometheus (Debian's package) that then
 * answers a query with the relay's own values. The node's /metrics is checked the same way in
 * test/integration/foundation/metrics.test.ts.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { needService } from '../../helpers/service.js';
import { tmpDir } from '../../helpers/tmp.js';
import { ADMIN, freePort, NodeProc, nodeReady, relayPorts, RelayProc, waitFor } from './harness.js';

type Query = { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };

test('relay /metrics: promtool accepts it, a token is needed, a real Prometheus scrapes it over HTTPS', { timeout: 180_000 }, async (t) => {
  if (!(await needService(t, 'promtool and prometheus (apt-get install prometheus)', async () => {
    for (const b of ['promtool', 'prometheus']) if (spawnSync(b, ['--version']).status !== 0) throw new Error(`${b} not found`);
  }))) return;
  const dir = tmpDir(t, 'edgecore-relay-metrics-');
  const relay = new RelayProc({ dir, ports: await relayPorts() });
  t.after(() => relay.stop('SIGKILL'));
  await relay.start();
  const name = `metricsnode-${randomBytes(3).toString('hex')}`;
  const node = new NodeProc({ dir, name, join: await relay.join(name), devicetwin: false });
  t.after(() => node.stop('SIGKILL'));
  await node.start();
  await waitFor('node Ready', () => nodeReady(relay, name) === 'True');
  assert.equal(relay.kubectl(['get', 'nodes']).code, 0);

  const f = relay.fetch();
  const url = `${relay.api}/metrics`;
  const anonymous = await f(url);
  assert.equal(anonymous.status, 401);
  const text = await waitFor('the node counted as connected', async () => {
    const body = await (await f(url, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
    return /^edgerelay_nodes_connected 1$/m.test(body) ? body : undefined;
  });
  assert.match(text, /^apiserver_request_total\{verb="list",group="",resource="nodes",code="200"\} [1-9]/m);
  assert.match(text, /^apiserver_request_duration_seconds_bucket\{le="\+Inf",verb="list",group="",resource="nodes"\} [1-9]/m);
  assert.match(text, /^edgerelay_node_messages_received_total\{channel="presence"\} [1-9]/m);
  assert.match(text, /^edgerelay_node_messages_sent_total\{channel="desired"\} [1-9]/m);
  assert.match(text, /^edgerelay_node_messages_dropped_total\{reason="rejected"\} 0$/m);
  assert.match(text, /^process_resident_memory_bytes \d+/m);
  const file = join(dir, 'relay-metrics.txt');
  writeFileSync(file, text);
  const check = spawnSync('sh', ['-c', `promtool check metrics < '${file}'`], { encoding: 'utf8' });
  assert.equal(check.status, 0, `promtool: ${check.stdout}${check.stderr}`);
  assert.equal(check.stdout + check.stderr, '', 'no lint findings either');

  const promPort = await freePort();
  const promCfg = join(dir, 'prometheus.yml');
  const tokenFile = join(dir, 'scrape-token');
  writeFileSync(tokenFile, ADMIN);
  writeFileSync(
    promCfg,
    `global: { scrape_interval: 1s }
scrape_configs:
  - job_name: edgerelay
    scheme: https
    tls_config: { ca_file: '${relay.caFile}' }
    authorization: { credentials_file: '${tokenFile}' }
    static_configs: [{ targets: ['127.0.0.1:${relay.o.ports.api}'] }]
`,
  );
  const prom = spawn('prometheus', [`--config.file=${promCfg}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: 'ignore' });
  t.after(() => prom.kill('SIGKILL'));
  const query = async (q: string): Promise<Query['data']['result'] | undefined> => {
    const r = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`).catch(() => undefined);
    if (!r?.ok) return undefined;
    const body = (await r.json()) as Query;
    return body.data.result.length ? body.data.result : undefined;
  };
  const connected = await waitFor('Prometheus has scraped the relay', () => query('edgerelay_nodes_connected{job="edgerelay"}'), 60_000, 500);
  assert.equal(connected[0]!.value[1], '1');
  const up = await query('up{job="edgerelay"}');
  assert.equal(up?.[0]?.value[1], '1', 'the scrape itself succeeded (TLS and token)');
  const lists = await query('apiserver_request_total{job="edgerelay",verb="list",resource="nodes",code="200"}');
  assert.ok(Number(lists?.[0]?.value[1]) >= 1, 'the kubectl get nodes above is counted');
});
