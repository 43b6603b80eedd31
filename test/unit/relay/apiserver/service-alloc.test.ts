/**
 * The Service allocator on the API's write path: ClusterIPs from the service CIDR (never the
 * reserved DNS address), node ports from their range, each committed with its Service; requests
 * for a taken or out-of-range address refused as kube-apiserver words it; an address of a
 * deleted Service (or one that stopped using it) is free again; updates keep what was given.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isStatusError } from '../../../../src/contract/kube/status.js';
import type { KubeObject } from '../../../../src/contract/kube/types.js';
import { inCidr, parseCidr, ServiceAllocator } from '../../../../src/relay/apiserver/service-alloc.js';
import { fixture } from './fixture.js';

const SVC = { group: '', resource: 'services' };
const svc = (name: string, spec: Record<string, unknown>): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec });
const spec = (o: KubeObject): Record<string, unknown> => o.spec as Record<string, unknown>;

async function withAllocator(cidr = '10.96.0.0/29', random = () => 0) {
  return fixture({ hooks: (store, registry) => [new ServiceAllocator(store, registry, { serviceCIDR: cidr, reserved: ['10.96.0.2'], nodePorts: { min: 30000, max: 30002 }, random })] });
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(isStatusError(e));
    return e.message;
  }
  return assert.fail('expected a refusal');
}

test('CIDR arithmetic: usable range, membership', () => {
  const c = parseCidr('10.96.0.0/12');
  assert.equal(c.text, '10.96.0.0/12');
  assert.ok(inCidr('10.96.0.1', c) && inCidr('10.111.255.254', c));
  assert.ok(!inCidr('10.96.0.0', c) && !inCidr('10.112.0.1', c) && !inCidr('banana', c));
  assert.throws(() => parseCidr('10.0.0.0/33'), /not an IPv4 CIDR/);
});

test('ClusterIPs: taken in order from the range, the reserved one skipped; a full range is an error; a freed one comes back', async () => {
  const f = await withAllocator();
  const got: string[] = [];
  for (const n of ['a', 'b', 'c', 'd', 'e']) got.push(String(spec(await f.admin.create(SVC, svc(n, { ports: [{ port: 80 }] }))).clusterIP));
  // /29: .1 to .6 usable, .2 reserved
  assert.deepEqual(got, ['10.96.0.1', '10.96.0.3', '10.96.0.4', '10.96.0.5', '10.96.0.6']);
  assert.match(await refusal(f.admin.create(SVC, svc('f', { ports: [{ port: 80 }] }))), /failed to allocate a serviceIP: range is full/);
  await f.admin.delete(SVC, 'default', 'c');
  assert.equal(spec(await f.admin.create(SVC, svc('g', { ports: [{ port: 80 }] }))).clusterIP, '10.96.0.4');
  const headless = await f.admin.create(SVC, svc('h', { clusterIP: 'None', selector: { a: 'b' } }));
  assert.equal(spec(headless).clusterIP, 'None');
  const ext = await f.admin.create(SVC, svc('x', { type: 'ExternalName', externalName: 'db.example.com' }));
  assert.equal(spec(ext).clusterIP, undefined);
});

test('a requested ClusterIP: taken if free, refused if taken or outside the range', async () => {
  const f = await withAllocator('10.96.0.0/24');
  const a = await f.admin.create(SVC, svc('a', { clusterIP: '10.96.0.50', ports: [{ port: 80 }] }));
  assert.deepEqual(spec(a).clusterIPs, ['10.96.0.50']);
  assert.equal(
    await refusal(f.admin.create(SVC, svc('b', { clusterIP: '10.96.0.50', ports: [{ port: 80 }] }))),
    'Service "b" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.0.50"}: failed to allocate IP 10.96.0.50: provided IP is already allocated',
  );
  assert.equal(
    await refusal(f.admin.create(SVC, svc('c', { clusterIP: '10.1.2.3', ports: [{ port: 80 }] }))),
    'Service "c" is invalid: spec.clusterIPs: Invalid value: []string{"10.1.2.3"}: failed to allocate IP 10.1.2.3: the provided IP (10.1.2.3) is not in the valid range. The range of valid IPs is 10.96.0.0/24',
  );
  // the reserved DNS address is never given
  assert.match(await refusal(f.admin.create(SVC, svc('d', { clusterIP: '10.96.0.2', ports: [{ port: 80 }] }))), /not in the valid range/);
});

test('updates keep the ClusterIP and node ports; ExternalName gives the IP up; dry runs take nothing', async () => {
  const f = await withAllocator('10.96.0.0/24', () => 0.5);
  const a = await f.admin.create(SVC, svc('a', { type: 'NodePort', ports: [{ port: 80 }] }));
  const ip = spec(a).clusterIP;
  const np = (spec(a).ports as { nodePort: number }[])[0]!.nodePort;
  assert.ok(np >= 30000 && np <= 30002);
  // a PUT that leaves both out keeps them
  const b = await f.admin.update(SVC, svc('a', { type: 'NodePort', ports: [{ port: 80 }], selector: { app: 'x' } }));
  assert.equal(spec(b).clusterIP, ip);
  assert.equal((spec(b).ports as { nodePort: number }[])[0]!.nodePort, np);
  // the same port asked for by another service is taken
  assert.match(await refusal(f.admin.create(SVC, svc('c', { type: 'NodePort', ports: [{ port: 80, nodePort: np }] }))), new RegExp(`spec.ports\\[0\\].nodePort: Invalid value: ${np}: provided port is already allocated`));
  assert.match(await refusal(f.admin.create(SVC, svc('c', { type: 'NodePort', ports: [{ port: 80, nodePort: 80 }] }))), /provided port is not in the valid range. The range of valid ports is 30000-30002/);
  // to ExternalName: the IP and port are no longer used, so others may take them
  await f.admin.update(SVC, svc('a', { type: 'ExternalName', externalName: 'db.example.com' }));
  const c = await f.admin.create(SVC, svc('c', { type: 'NodePort', clusterIP: String(ip), ports: [{ port: 80, nodePort: np }] }));
  assert.equal(spec(c).clusterIP, ip);
  const dry = await f.admin.create(SVC, svc('d', { clusterIP: '10.96.0.77', ports: [{ port: 80 }] }), { dryRun: true });
  assert.equal(spec(dry).clusterIP, '10.96.0.77');
  assert.equal(spec(await f.admin.create(SVC, svc('e', { clusterIP: '10.96.0.77', ports: [{ port: 80 }] }))).clusterIP, '10.96.0.77');
});
