import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { test } from 'node:test';
import { RelayMetrics } from '../../../src/relay/metrics.js';

/** A request and a response as far as `observe` reads them (a stand-in, not a server). */
function call(m: RelayMetrics, method: string, url: string, status: number): void {
  const res = Object.assign(new EventEmitter(), { statusCode: status });
  m.observe({ method, url } as IncomingMessage, res as unknown as ServerResponse);
  res.emit('finish');
}

test('API requests are counted with labels from fixed sets only; long-running ones are not timed', async () => {
  let now = 0;
  const m = new RelayMetrics({ known: (g, r) => g === '' && r === 'pods', nodesConnected: () => 2, dropped: () => ({ rejected: 1, limited: 0, duplicates: 3 }), clock: () => now });
  call(m, 'GET', '/api/v1/namespaces/default/pods', 200);
  call(m, 'GET', '/api/v1/namespaces/default/pods?watch=true', 200);
  call(m, 'GET', '/api/v1/namespaces/default/pods/x/log?follow=true', 200);
  for (let i = 0; i < 50; i++) call(m, 'GET', `/apis/made.up/v1/thing${i}`, 404);
  call(m, 'BREW', '/coffee', 404);
  call(m, 'GET', '/api/v1/namespaces/%zz/configmaps', 400); // the API answers 400; counting it must not throw
  now = 1;
  const text = (await m.text()).body;
  assert.match(text, /^apiserver_request_total\{verb="list",group="",resource="pods",code="200"\} 1$/m);
  assert.match(text, /^apiserver_request_total\{verb="watch",group="",resource="pods",code="200"\} 1$/m);
  assert.match(text, /^apiserver_request_total\{verb="list",group="other",resource="other",code="404"\} 50$/m, 'unknown resources share one series');
  assert.match(text, /^apiserver_request_total\{verb="other",group="",resource="",code="404"\} 1$/m);
  assert.match(text, /^apiserver_request_total\{verb="get",group="",resource="",code="400"\} 1$/m);
  assert.match(text, /^apiserver_request_duration_seconds_count\{verb="list",group="",resource="pods"\} 1$/m);
  assert.doesNotMatch(text, /apiserver_request_duration_seconds_count\{verb="watch"/);
  assert.doesNotMatch(text, /apiserver_request_duration_seconds_count\{verb="get",group="",resource="pods"\}/, 'a followed log is not timed');
  assert.match(text, /^edgerelay_nodes_connected 2$/m);
  assert.match(text, /^edgerelay_node_messages_dropped_total\{reason="duplicate"\} 3$/m);
});

test('publishes to nodes are counted by channel through the wrapped transport', async () => {
  const m = new RelayMetrics({ known: () => false, nodesConnected: () => 0, dropped: () => ({ rejected: 0, limited: 0, duplicates: 0 }) });
  const sent: string[] = [];
  const t = m.countPublishes(
    { kind: 'embedded', start: async () => {}, publish: async (topic) => void sent.push(topic), endpoints: () => ({}), stop: async () => {} },
    (topic) => (topic.endsWith('/desired') ? 'desired' : undefined),
  );
  await t.publish('edgecore/v1/nodes/a/desired', '', { qos: 1, retain: true });
  await t.publish('elsewhere', '', { qos: 0, retain: false });
  assert.deepEqual(sent, ['edgecore/v1/nodes/a/desired', 'elsewhere']);
  const text = (await m.text()).body;
  assert.match(text, /^edgerelay_node_messages_sent_total\{channel="desired"\} 1$/m);
  assert.match(text, /^edgerelay_node_messages_sent_total\{channel="other"\} 1$/m);
});
