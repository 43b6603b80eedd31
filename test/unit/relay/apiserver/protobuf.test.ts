/** Protobuf request bodies, as kubectl 1.32 sent them (captured from `kubectl create namespace|configmap|secret`). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isStatusError } from '../../../../src/contract/kube/status.js';
import { decodeKubeProtobuf } from '../../../../src/relay/apiserver/protobuf/decode.js';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const NAMESPACE = '6b3873000a0f0a02763112094e616d657370616365121d0a150a056361706e7312001a0022002a0032003800420012001a020a001a002200';
const CONFIGMAP =
  '6b3873000a0f0a0276311209436f6e6669674d6170122f0a1a0a05636170636d12001a056361706e7322002a0032003800420012090a05656d707479120012060a016b1201761a002200';
const SECRET = '6b3873000a0c0a0276311206536563726574122d0a1b0a0663617073656312001a056361706e7322002a0032003800420012060a01701201711a064f70617175651a002200';

test('kubectl create namespace / configmap / secret bodies decode to the objects their JSON would be', () => {
  // numbers stay even when 0 (a pointer field's 0 means something: runAsUser, terminationGracePeriodSeconds);
  // false and "" go, as Go's JSON omits them; the server resets generation on create anyway
  assert.deepEqual(decodeKubeProtobuf(hex(NAMESPACE)), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'capns', generation: 0 }, spec: {}, status: {} });
  assert.deepEqual(decodeKubeProtobuf(hex(CONFIGMAP)), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'capcm', namespace: 'capns', generation: 0 }, data: { empty: '', k: 'v' } });
  assert.deepEqual(decodeKubeProtobuf(hex(SECRET)), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'capsec', namespace: 'capns', generation: 0 }, data: { p: Buffer.from('q').toString('base64') }, type: 'Opaque' });
});

test('bad protobuf bodies are refused with a Status, never a crash', () => {
  const code = (b: Buffer): number | undefined => {
    try {
      decodeKubeProtobuf(b);
    } catch (e) {
      return isStatusError(e) ? e.code : -1;
    }
    return undefined;
  };
  assert.equal(code(Buffer.from('{"kind":"Namespace"}')), 400, 'no k8s\\0 prefix');
  assert.equal(code(hex('6b387300ffffffff')), 400, 'garbage after the prefix');
  assert.equal(code(hex(NAMESPACE).subarray(0, 30)), 400, 'truncated');
  // a kind we do not decode: 415, so the client knows to send JSON
  const deployment = Buffer.concat([hex('6b3873000a130a0761707073'), Buffer.from('/v1\x12\x0aDeployment')]);
  assert.ok([400, 415].includes(code(deployment)!));
});

test('the OpenAPI v2 document (gnostic protobuf) carries a PATCH with fieldValidation per kind, as kubectl 1.27/1.28 look for it', async () => {
  const { decodeOpenApiV2, encodeOpenApiV2 } = await import('../../../../src/relay/apiserver/protobuf/openapi-v2.js');
  const buf = encodeOpenApiV2('edgerelay', 'v1.32.0', [{ path: '/api/v1/namespaces/{namespace}/pods/{name}', group: '', version: 'v1', kind: 'Pod' }]);
  const doc = decodeOpenApiV2(buf) as {
    swagger: string;
    paths: { path: { name: string; value: { patch: { parameters: { parameter: { non_body_parameter: { query_parameter_sub_schema: { name: string } } } }[]; vendor_extension: { name: string; value: { yaml: string } }[] } } }[] };
  };
  assert.equal(doc.swagger, '2.0');
  const p = doc.paths.path[0]!;
  assert.equal(p.name, '/api/v1/namespaces/{namespace}/pods/{name}');
  assert.ok(p.value.patch.parameters.some((x) => x.parameter.non_body_parameter.query_parameter_sub_schema.name === 'fieldValidation'));
  assert.equal(p.value.patch.vendor_extension.find((e) => e.name === 'x-kubernetes-group-version-kind')!.value.yaml, 'group: ""\nkind: Pod\nversion: v1\n');
});
