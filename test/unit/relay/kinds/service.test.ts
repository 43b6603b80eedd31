/**
 * Service, EndpointSlice and Endpoints at the API: Kubernetes' defaults, validation worded as
 * kube-apiserver words it (and "not supported by edgecore" for what the mesh does not do), and
 * the kubectl tables.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../../../../src/contract/kube/types.js';
import { endpointsDef, endpointSliceDef, endpointsText } from '../../../../src/relay/kinds/endpointslice.js';
import { defaultService, serviceDef, serviceRow } from '../../../../src/relay/kinds/service.js';

const NOW = new Date('2026-01-01T01:00:00Z');
const svc = (spec: Record<string, unknown>, name = 'web'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'default', creationTimestamp: '2026-01-01T00:00:00Z' },
  spec,
});
const issues = async (o: KubeObject, old?: KubeObject): Promise<string[]> => {
  serviceDef.defaults!(o);
  return (await serviceDef.validate(o, old, { get: async () => undefined, now: () => NOW })).map((i) => `${i.path}: ${i.reason}`);
};

test('defaults: type, affinity, protocol, targetPort = port, policies, IP families; ClientIP gets the 3 h timeout', () => {
  const o = svc({ selector: { app: 'web' }, ports: [{ port: 80 }, { name: 'dns', port: 53, protocol: 'UDP', targetPort: 'dns' }], sessionAffinity: 'ClientIP' });
  defaultService(o);
  assert.deepEqual(o.spec, {
    selector: { app: 'web' },
    ports: [
      { port: 80, protocol: 'TCP', targetPort: 80 },
      { name: 'dns', port: 53, protocol: 'UDP', targetPort: 'dns' },
    ],
    sessionAffinity: 'ClientIP',
    sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
    type: 'ClusterIP',
    internalTrafficPolicy: 'Cluster',
    ipFamilyPolicy: 'SingleStack',
    ipFamilies: ['IPv4'],
  });
  assert.deepEqual(o.status, { loadBalancer: {} });
  const lb = svc({ type: 'LoadBalancer', ports: [{ port: 80 }] });
  defaultService(lb);
  assert.equal((lb.spec as Record<string, unknown>).externalTrafficPolicy, 'Cluster');
  assert.equal((lb.spec as Record<string, unknown>).allocateLoadBalancerNodePorts, true);
  const ext = svc({ type: 'ExternalName', externalName: 'db.example.com' });
  defaultService(ext);
  assert.equal((ext.spec as Record<string, unknown>).ipFamilies, undefined);
});

test('validation: the words kube-apiserver uses, with field paths', async () => {
  assert.deepEqual(await issues(svc({ selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] })), []);
  assert.deepEqual(await issues(svc({ selector: { app: 'web' } })), ['spec.ports: Required value']);
  assert.deepEqual(await issues(svc({ clusterIP: 'None', selector: { app: 'db' } })), [], 'a headless service needs no ports');
  assert.deepEqual(await issues(svc({ ports: [{ port: 80 }, { port: 81 }] })), ['spec.ports[0].name: Required value', 'spec.ports[1].name: Required value']);
  assert.deepEqual(await issues(svc({ ports: [{ name: 'a', port: 80 }, { name: 'a', port: 81 }] })), ['spec.ports[1].name: Duplicate value: "a"']);
  assert.deepEqual(await issues(svc({ ports: [{ port: 0, targetPort: 80 }] })), ['spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive']);
  assert.deepEqual(await issues(svc({ ports: [{ port: 80, targetPort: 'Not_A_Name' }] })), [
    'spec.ports[0].targetPort: Invalid value: "Not_A_Name": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-), at most 15 characters, with at least one letter',
  ]);
  assert.deepEqual(await issues(svc({ ports: [{ port: 80 }] }, '1web')), [
    `metadata.name: Invalid value: "1web": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character`,
  ]);
  assert.deepEqual(await issues(svc({ type: 'ExternalName' })), ['spec.externalName: Required value']);
  assert.deepEqual(await issues(svc({ type: 'ExternalName', externalName: 'Not A Name' })), [
    `spec.externalName: Invalid value: "Not A Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
  ]);
  assert.deepEqual(await issues(svc({ ports: [{ port: 80, nodePort: 30080 }] })), ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"]);
  assert.deepEqual(await issues(svc({ ports: [{ port: 80 }], sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 0 } } })), [
    'spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 0: must be greater than 0 and less than 86400',
  ]);
  assert.deepEqual(await issues(svc({ ports: [{ port: 80 }], clusterIP: 'banana' })), [
    'spec.clusterIPs[0]: Invalid value: "banana": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
  ]);
  assert.deepEqual(await issues(svc({ type: 'NodePort', clusterIP: 'None', ports: [{ port: 80 }] })), ["spec.clusterIPs[0]: Invalid value: [\"None\"]: may not be set to 'None' for NodePort services"]);
  assert.deepEqual(await issues(svc({ ports: [{ port: 80 }], bogus: 1 })), ['spec.bogus: unknown field']);
});

test('what edgecore does not do is refused, not dropped', async () => {
  const not = 'not supported by edgecore: the node could not honour it, so it is refused rather than dropped';
  assert.deepEqual(await issues(svc({ ports: [{ port: 80 }], externalIPs: ['1.2.3.4'] })), [`spec.externalIPs: ${not}`]);
  assert.deepEqual(await issues(svc({ ports: [{ port: 80, protocol: 'SCTP' }] })), [`spec.ports[0].protocol: ${not}`]);
  assert.deepEqual(await issues(svc({ type: 'LoadBalancer', ports: [{ port: 80 }], externalTrafficPolicy: 'Local' })), [`spec.externalTrafficPolicy: ${not}`]);
  assert.deepEqual(await issues(svc({ ports: [{ port: 80 }], ipFamilies: ['IPv6'] })), [`spec.ipFamilies: ${not}`]);
});

test('updates: the ClusterIP may not change once set; leaving it out keeps it', async () => {
  const old = svc({ ports: [{ port: 80 }], clusterIP: '10.96.0.5', clusterIPs: ['10.96.0.5'] });
  defaultService(old);
  assert.deepEqual(await issues(svc({ ports: [{ port: 80 }], clusterIP: '10.96.0.6' }), old), ['spec.clusterIPs[0]: Invalid value: ["10.96.0.6"]: may not change once set']);
  assert.deepEqual(await issues(svc({ ports: [{ port: 80 }] }), old), []);
});

test('kubectl get svc: TYPE, CLUSTER-IP, EXTERNAL-IP, PORT(S), AGE, SELECTOR as kubectl prints them', () => {
  const row = (spec: Record<string, unknown>, status?: unknown): unknown[] => {
    const o = svc(spec);
    defaultService(o);
    if (status) o.status = status;
    return serviceRow(o, NOW);
  };
  assert.deepEqual(row({ selector: { b: '2', a: '1' }, clusterIP: '10.96.0.5', ports: [{ port: 80 }, { name: 'u', port: 53, protocol: 'UDP' }] }), [
    'web',
    'ClusterIP',
    '10.96.0.5',
    '<none>',
    '80/TCP,53/UDP',
    '60m',
    'a=1,b=2',
  ]);
  assert.deepEqual(row({ clusterIP: 'None' }).slice(1, 5), ['ClusterIP', 'None', '<none>', '<none>']);
  assert.deepEqual(row({ type: 'ExternalName', externalName: 'db.example.com' }).slice(1, 5), ['ExternalName', '<none>', 'db.example.com', '<none>']);
  assert.deepEqual(row({ type: 'LoadBalancer', clusterIP: '10.96.0.7', ports: [{ port: 80, nodePort: 30080 }] }).slice(3, 5), ['<pending>', '80:30080/TCP']);
  assert.deepEqual(row({ type: 'LoadBalancer', ports: [{ port: 80 }] }, { loadBalancer: { ingress: [{ ip: '192.168.10.200' }, { ip: '192.168.10.201' }] } })[3], '192.168.10.20...');
});

test('EndpointSlice and Endpoints: validation and tables', async () => {
  const slice = (extra: Record<string, unknown>): KubeObject => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'web-abc', namespace: 'default', creationTimestamp: '2026-01-01T00:59:00Z' },
    addressType: 'IPv4',
    ...extra,
  });
  const ok = slice({ endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: true }, nodeName: 'n1' }, { addresses: ['10.0.0.2'] }, { addresses: ['10.0.0.3'] }, { addresses: ['10.0.0.4'] }], ports: [{ name: 'http', port: 8080 }] });
  endpointSliceDef.defaults!(ok);
  assert.deepEqual(await endpointSliceDef.validate(ok, undefined, { get: async () => undefined, now: () => NOW }), []);
  assert.deepEqual(endpointSliceDef.row(ok, NOW), ['web-abc', 'IPv4', '8080', '10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...', '60s']);
  assert.deepEqual(endpointSliceDef.row(slice({ endpoints: [] }), NOW).slice(2, 4), ['<unset>', '<unset>']);
  const bad = slice({ endpoints: [{ addresses: ['nope'] }], ports: [{ name: 'a' }, { name: 'a' }] });
  assert.deepEqual(
    (await endpointSliceDef.validate(bad, undefined, { get: async () => undefined, now: () => NOW })).map((i) => `${i.path}: ${i.reason}`),
    ['endpoints[0].addresses[0]: Invalid value: "nope": must be a valid IPv4 address', 'ports[1].name: Duplicate value: "a"'],
  );
  assert.deepEqual(
    (await endpointSliceDef.validate(slice({ addressType: 'FQDN' }), slice({}), { get: async () => undefined, now: () => NOW })).map((i) => i.path),
    ['addressType'],
  );
  const ep: KubeObject = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'web', namespace: 'default' },
    subsets: [{ addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }], ports: [{ port: 80 }, { port: 81 }] }],
  };
  assert.deepEqual(await endpointsDef.validate(ep, undefined, { get: async () => undefined, now: () => NOW }), []);
  assert.equal(endpointsText(ep), '10.0.0.1:80,10.0.0.2:80,10.0.0.1:81 + 1 more...');
  assert.equal(endpointsText({ ...ep, subsets: [] }), '<none>');
});
