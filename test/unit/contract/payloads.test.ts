/** The sync contract's payload schemas: what each edge accepts, what it refuses (with paths). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  desiredDocumentSchema,
  heartbeatSchema,
  PAYLOAD_MAX_DEPTH,
  parsePayload,
  reportedStateSchema,
  rpcRequestSchema,
  rpcResponseSchema,
} from '../../../src/contract/payloads.js';
import type { FieldIssue } from '../../../src/core/errors.js';

const paths = (r: { ok: true } | { ok: false; issues: FieldIssue[] }): string[] => (r.ok ? [] : [...new Set(r.issues.map((i) => i.path))]);
const json = (v: unknown): string => JSON.stringify(v);

const state = { kind: 'Pod', namespace: 'default', name: 'p', status: { phase: 'Running' }, desiredVersion: 3, timestamp: 1_700_000_000_000, seq: 4, stream: 's' };

test('a reported state parses; unknown fields are dropped, known ones must have their type', () => {
  const r = parsePayload(reportedStateSchema, json({ ...state, extra: 1 }));
  assert.ok(r.ok);
  assert.deepEqual(r.value, state);
  assert.deepEqual(paths(parsePayload(reportedStateSchema, json({ ...state, timestamp: 1e20 }))), ['timestamp']);
  assert.deepEqual(paths(parsePayload(reportedStateSchema, json({ ...state, namespace: null, desiredVersion: -1 }))), ['namespace', 'desiredVersion']);
  assert.deepEqual(paths(parsePayload(reportedStateSchema, json({ ...state, seq: 0 }))), ['seq']);
  assert.deepEqual(paths(parsePayload(reportedStateSchema, 'null')), ['']);
  assert.deepEqual(parsePayload(reportedStateSchema, '{'), { ok: false, issues: [{ path: '', reason: 'not JSON' }] });
});

test('a payload nesting deeper than the limit is refused before its schema walks it', () => {
  const nest = (n: number): unknown => Array.from({ length: n }).reduce<unknown>((v) => ({ v }), 1);
  assert.ok(parsePayload(reportedStateSchema, json({ ...state, status: nest(PAYLOAD_MAX_DEPTH - 1) })).ok);
  assert.deepEqual(parsePayload(reportedStateSchema, json({ ...state, status: nest(PAYLOAD_MAX_DEPTH) })), { ok: false, issues: [{ path: '', reason: `nests deeper than ${PAYLOAD_MAX_DEPTH} levels` }] });
  // 20,000 levels fit in a 256 KiB report: refused, not a stack overflow
  assert.equal(parsePayload(reportedStateSchema, `{"status":${'['.repeat(20_000)}${']'.repeat(20_000)}}`).ok, false);
});

test('heartbeats are three counts', () => {
  assert.ok(parsePayload(heartbeatSchema, json({ v: 1, q: 0, t: 5 })).ok);
  assert.deepEqual(paths(parsePayload(heartbeatSchema, json({ v: '1', q: 0.5 }))), ['v', 'q', 't']);
});

const manifest = (kind: string, name: string, namespace = 'default', rest: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind, metadata: { name, namespace }, ...rest });
const item = (kind: string, name: string, spec: unknown, namespace = 'default') => ({ kind, namespace, name, uid: `u-${name}`, generation: 1, spec });
const doc = (items: unknown[]) => ({ node: 'n1', epoch: 'e', version: 2, kinds: ['Pod', 'Device'], items, timestamp: 1 });

test('a desired item is the whole manifest, named by the item', () => {
  assert.ok(desiredDocumentSchema.safeParse(doc([item('Pod', 'p', manifest('Pod', 'p', 'default', { spec: {} }))])).success);
  const r = desiredDocumentSchema.safeParse(
    doc([item('Pod', 'p', manifest('ConfigMap', 'q', 'other')), item('Pod', 'x', { containers: [] }), item('Pod', 'p', manifest('Pod', 'p'))]),
  );
  assert.ok(!r.success);
  assert.deepEqual(
    r.error.issues.map((i) => i.path.join('.')),
    ['items.0.spec.kind', 'items.0.spec.metadata.name', 'items.0.spec.metadata.namespace', 'items.1.spec.kind', 'items.1.spec.metadata', 'items.2'],
  );
});

test('a Device item from a relay before the manifest contract (only .spec) is read as its manifest', () => {
  const r = desiredDocumentSchema.parse(doc([item('Device', 'd', { deviceModelRef: { name: 'm' } }, 'plant')]));
  assert.deepEqual(r.items[0]!.spec, {
    apiVersion: 'devices.kubeedge.io/v1beta1',
    kind: 'Device',
    metadata: { name: 'd', namespace: 'plant' },
    spec: { deviceModelRef: { name: 'm' } },
  });
  // a manifest is taken as it is, and a Pod is never lifted
  const m = { apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'Device', metadata: { name: 'd', namespace: 'plant' }, spec: {} };
  assert.deepEqual(desiredDocumentSchema.parse(doc([item('Device', 'd', m, 'plant')])).items[0]!.spec, m);
  assert.ok(!desiredDocumentSchema.safeParse(doc([item('Pod', 'p', { containers: [] })])).success);
});

test('rpc requests name a known method; responses keep only codes a node may send', () => {
  assert.ok(rpcRequestSchema.safeParse({ id: 'a', method: 'twin.get', params: {}, deadline: 1 }).success);
  const bad = rpcRequestSchema.safeParse({ id: 'a', method: 'logs', params: [], deadline: 'later' });
  assert.deepEqual(bad.error?.issues.map((i) => i.path.join('.')), ['method', 'params', 'deadline']);
  const r = rpcResponseSchema.parse({ id: 'a', n: 0, done: true, error: { code: 'Unauthorized', message: 'm' } });
  assert.equal(r.error?.code, 'Failed', 'a node does not answer for the relay');
  assert.equal(rpcResponseSchema.parse({ id: 'a', n: 0, done: true, error: { code: 'NotFound', message: 'm' } }).error?.code, 'NotFound');
});
