/** Pod at the API: Kubernetes defaulting, the edge toleration rule, validation with field paths, update rules, field selectors. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import type { KubeObject } from '../../../../src/contract/kube/types.js';
import { parsePod } from '../../../../src/contract/resources/pod.js';
import type { FieldIssue } from '../../../../src/core/errors.js';
import { EDGE_POD_DEFAULTS, defaultPod, podDef, podFields, podGracePeriod, qosClassOf } from '../../../../src/relay/kinds/pod.js';
import { validatePod } from '../../../../src/relay/kinds/pod-validate.js';
import type { KindContext } from '../../../../src/relay/kinds/types.js';

const ctx: KindContext = { get: async () => undefined, now: () => new Date('2026-01-01T00:00:00Z') };
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

function pod(spec: Record<string, unknown>, extra: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default' }, spec, ...extra };
}
const c = (extra: Record<string, unknown> = {}) => ({ name: 'c', image: 'busybox:1.36', ...extra });

/** create as the API does it: prepare, default, validate */
async function created(p: KubeObject, def = podDef()): Promise<{ obj: KubeObject; issues: FieldIssue[] }> {
  const obj = clone(p);
  def.prepareForCreate?.(obj);
  def.defaults?.(obj);
  return { obj, issues: await def.validate(obj, undefined, ctx) };
}
const paths = (issues: FieldIssue[]) => issues.map((i) => i.path);

test('a minimal pod gets Kubernetes defaults and the edge tolerations; the node accepts the result', async () => {
  const { obj, issues } = await created(pod({ containers: [c({ ports: [{ containerPort: 80 }] })] }));
  assert.deepEqual(issues, []);
  assert.deepEqual(obj.spec, {
    containers: [
      {
        name: 'c',
        image: 'busybox:1.36',
        ports: [{ containerPort: 80, protocol: 'TCP' }],
        imagePullPolicy: 'IfNotPresent',
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'File',
      },
    ],
    restartPolicy: 'Always',
    terminationGracePeriodSeconds: 30,
    dnsPolicy: 'ClusterFirst',
    schedulerName: 'default-scheduler',
    securityContext: {},
    enableServiceLinks: true,
    tolerations: [
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      // the edge rule: no tolerationSeconds = an unreachable node keeps this pod forever
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
    ],
  });
  assert.deepEqual(obj.status, { phase: 'Pending', qosClass: 'BestEffort' });
  // what the relay stores and sends is what edged validates
  assert.doesNotThrow(() => parsePod({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default' }, spec: obj.spec }));
  // defaulting twice changes nothing
  const again = clone(obj);
  defaultPod(again);
  assert.deepEqual(again, obj);
});

test('the unreachable toleration follows the relay setting; existing tolerations that cover a taint suppress its default', async () => {
  const { obj } = await created(pod({ containers: [c()] }), podDef({ notReadyTolerationSeconds: null, unreachableTolerationSeconds: 600 }));
  assert.deepEqual((obj.spec as { tolerations: unknown }).tolerations, [
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 600 },
  ]);
  const mine = { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 };
  const own = await created(pod({ containers: [c()], tolerations: [mine] }));
  assert.deepEqual((own.obj.spec as { tolerations: unknown[] }).tolerations, [mine, { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }]);
  const all = await created(pod({ containers: [c()], tolerations: [{ operator: 'Exists' }] }));
  assert.deepEqual((all.obj.spec as { tolerations: unknown[] }).tolerations, [{ operator: 'Exists' }]);
  assert.equal(EDGE_POD_DEFAULTS.unreachableTolerationSeconds, null);
});

test('pull policy by tag, probes, requests from limits, host ports with hostNetwork, volume defaults, explicit values kept', async () => {
  const policy = async (image: string, given?: string) => {
    const { obj } = await created(pod({ containers: [c({ image, ...(given ? { imagePullPolicy: given } : {}) })] }));
    return (obj.spec as { containers: { imagePullPolicy: string }[] }).containers[0]!.imagePullPolicy;
  };
  assert.equal(await policy('busybox'), 'Always');
  assert.equal(await policy('busybox:latest'), 'Always');
  assert.equal(await policy('registry.local:5000/busybox'), 'Always');
  assert.equal(await policy('busybox:1.36'), 'IfNotPresent');
  assert.equal(await policy(`busybox@sha256:${'a'.repeat(64)}`), 'IfNotPresent');
  assert.equal(await policy('busybox', 'Never'), 'Never');

  const { obj, issues } = await created(
    pod({
      hostNetwork: true,
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 5,
      volumes: [{ name: 'scratch' }, { name: 'cfg', configMap: { name: 'cfg' } }, { name: 'dev', hostPath: { path: '/dev/ttyUSB0' } }],
      containers: [
        c({
          ports: [{ containerPort: 8080, protocol: 'UDP' }],
          resources: { limits: { cpu: '500m', memory: '64Mi' }, requests: { cpu: '100m' } },
          livenessProbe: { httpGet: { port: 8080 } },
          readinessProbe: { exec: { command: ['true'] }, periodSeconds: 3 },
          volumeMounts: [{ name: 'scratch', mountPath: '/s' }],
        }),
      ],
    }),
  );
  assert.deepEqual(issues, []);
  // biome-ignore lint/suspicious/noExplicitAny: the test reads defaulted spec fields of every type
  const spec = obj.spec as Record<string, any>;
  assert.equal(spec.restartPolicy, 'Never');
  assert.equal(spec.terminationGracePeriodSeconds, 5);
  assert.deepEqual(spec.volumes, [
    { name: 'scratch', emptyDir: {} },
    { name: 'cfg', configMap: { name: 'cfg', defaultMode: 420 } },
    { name: 'dev', hostPath: { path: '/dev/ttyUSB0', type: '' } },
  ]);
  const ctr = spec.containers[0];
  assert.deepEqual(ctr.ports, [{ containerPort: 8080, protocol: 'UDP', hostPort: 8080 }]);
  assert.deepEqual(ctr.resources.requests, { cpu: '100m', memory: '64Mi' });
  assert.deepEqual(ctr.livenessProbe, { httpGet: { port: 8080, path: '/', scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 });
  assert.equal(ctr.readinessProbe.periodSeconds, 3);
  assert.equal((obj.status as { qosClass: string }).qosClass, 'Burstable');
});

test('QoS classes: BestEffort, Burstable, Guaranteed (requests default to limits)', () => {
  assert.equal(qosClassOf({ containers: [c()] }), 'BestEffort');
  assert.equal(qosClassOf({ containers: [c({ resources: { requests: { memory: '64Mi' } } })] }), 'Burstable');
  assert.equal(qosClassOf({ containers: [c({ resources: { limits: { cpu: '1', memory: '64Mi' } } })] }), 'Guaranteed');
  assert.equal(qosClassOf({ containers: [c({ resources: { limits: { cpu: '1', memory: '64Mi' }, requests: { cpu: '1000m', memory: '64Mi' } } })] }), 'Guaranteed');
  assert.equal(qosClassOf({ containers: [c({ resources: { limits: { cpu: '1', memory: '64Mi' } } }), c({ name: 'd' })] }), 'Burstable');
});

test('null means absent, as Kubernetes decodes it (YAML with empty keys)', async () => {
  const manifest = parse(`
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels:
spec:
  nodeSelector:
  tolerations:
  containers:
  - name: c
    image: busybox:1.36
    env:
    command:
`) as KubeObject;
  const { obj, issues } = await created(manifest);
  assert.deepEqual(issues, []);
  assert.equal('labels' in obj.metadata, false);
  assert.equal('nodeSelector' in (obj.spec as object), false);
  assert.deepEqual(Object.keys((obj.spec as { containers: object[] }).containers[0]!).sort(), ['image', 'imagePullPolicy', 'name', 'terminationMessagePath', 'terminationMessagePolicy']);
  // a null list element is not dropped: it is reported where it is
  const { issues: bad } = await created(pod({ containers: [null] }));
  assert.deepEqual(paths(bad), ['spec.containers[0]']);
});

test('scheduling fields are accepted at the API (and by the node schema)', async () => {
  const { issues, obj } = await created(
    pod({
      containers: [c()],
      nodeSelector: { 'kubernetes.io/arch': 'arm64', site: 'north' },
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'mapper', operator: 'In', values: ['modbus'] }, { key: 'gpu', operator: 'DoesNotExist' }] }, { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['pi-1'] }] }],
          },
          preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, preference: { matchExpressions: [{ key: 'ram-gb', operator: 'Gt', values: ['2'] }] } }],
        },
      },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'edge', effect: 'NoSchedule' }],
      serviceAccountName: 'default',
      automountServiceAccountToken: false,
      priorityClassName: 'high',
      dnsPolicy: 'Default',
      enableServiceLinks: false,
    }),
  );
  assert.deepEqual(issues, []);
  assert.equal((obj.spec as { enableServiceLinks: boolean }).enableServiceLinks, false);
});

test('each invalid field is named by its path', async () => {
  const cases: [Record<string, unknown>, string, RegExp?][] = [
    [{ containers: [{ name: 'c', image: '' }] }, 'spec.containers[0].image', /required/],
    // Kubernetes fields edgecore cannot honour are refused (never dropped); a misspelt one is an unknown field
    [{ containers: [c({ lifecycle: {} })] }, 'spec.containers[0].lifecycle', /not supported by edgecore/],
    [{ containers: [c({ securityContext: { runAsNonRoot: true } })] }, 'spec.containers[0].securityContext.runAsNonRoot', /not supported by edgecore/],
    [{ containers: [c({ resources: { limits: { 'nvidia.com/gpu': 1 } } })] }, 'spec.containers[0].resources.limits.nvidia.com/gpu', /not supported by edgecore/],
    [{ containers: [c()], volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'x' } }] }, 'spec.volumes[0].persistentVolumeClaim', /not supported by edgecore/],
    [{ containers: [c({ imagePullPolcy: 'Always' })] }, 'spec.containers[0].imagePullPolcy', /^unknown field$/],
    [{ containers: [c({ terminationMessagePolicy: 'Sometimes' })] }, 'spec.containers[0].terminationMessagePolicy', /File, FallbackToLogsOnError/],
    [{ containers: [c()], nodeName: 'Pi_1' }, 'spec.nodeName', /DNS label/],
    [{ containers: [c()], dnsPolicy: 'None' }, 'spec.dnsConfig.nameservers', /nameserver/],
    [{ containers: [c()], dnsPolicy: 'Cluster' }, 'spec.dnsPolicy'],
    [{ containers: [c()], tolerations: [{ operator: 'Equal', value: 'x' }] }, 'spec.tolerations[0].operator', /Exists when key is empty/],
    [{ containers: [c()], tolerations: [{ key: 'k', operator: 'Exists', value: 'x' }] }, 'spec.tolerations[0].value', /empty/],
    [{ containers: [c()], tolerations: [{ key: 'k', effect: 'NoSchedule', tolerationSeconds: 5 }] }, 'spec.tolerations[0].effect', /NoExecute/],
    [{ containers: [c()], tolerations: [{ key: 'k', effect: 'Sometimes' }] }, 'spec.tolerations[0].effect'],
    [{ containers: [c()], tolerations: [{ key: 'a/b/c', operator: 'Exists' }] }, 'spec.tolerations[0].key', /qualified name/],
    [{ containers: [c()], nodeSelector: { '-bad': 'x' } }, 'spec.nodeSelector.-bad', /name part/],
    [{ containers: [c()], nodeSelector: { ok: 'not ok' } }, 'spec.nodeSelector.ok'],
    [{ containers: [c()], affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } } }, 'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms'],
    [{ containers: [c()], affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'k', operator: 'In' }] }] } } } }, 'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values', /In/],
    [{ containers: [c()], affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 5, preference: { matchExpressions: [{ key: 'k', operator: 'Lt', values: ['x'] }] } }] } } }, 'spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].preference.matchExpressions[0].values', /integer/],
    [{ containers: [c()], affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 500, preference: {} }] } } }, 'spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight'],
    [{ containers: [c()], affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'spec.x', operator: 'In', values: ['a'] }] }] } } } }, 'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchFields[0].key', /metadata.name/],
    [{ containers: [c()], affinity: { podAntiAffinity: {} } }, 'spec.affinity.podAntiAffinity', /not supported/],
    [{ containers: [c()], securityContext: { fsGroup: 1 } }, 'spec.securityContext.fsGroup', /not supported/],
    [{ containers: [c()], serviceAccountName: 'Bad_SA' }, 'spec.serviceAccountName'],
  ];
  for (const [spec, path, reason] of cases) {
    const { issues } = await created(pod(spec));
    const hit = issues.find((i) => i.path === path);
    assert.ok(hit, `${path}: got ${JSON.stringify(issues)}`);
    if (reason) assert.match(hit.reason, reason, path);
  }
  const dotted = await created({ ...pod({ containers: [c()] }), metadata: { name: 'web.v2', namespace: 'default' } });
  assert.deepEqual(paths(dotted.issues), ['metadata.name']);
  assert.match(dotted.issues[0]!.reason, /DNS label/);
  // a name that is no DNS subdomain at all is the API machinery's to report (with every kind's metadata)
  const upper = await created({ ...pod({ containers: [c()] }), metadata: { name: 'Web', namespace: 'default' } });
  assert.deepEqual(upper.issues, []);
  const missing = await created({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' } });
  assert.deepEqual(missing.issues, [{ path: 'spec', reason: 'Required value' }]);
  const extra = await created(pod({ containers: [c()] }, { spce: {} }));
  assert.deepEqual(extra.issues, [{ path: 'spce', reason: 'unknown field' }]);
});

async function updated(before: KubeObject, change: (p: KubeObject) => void): Promise<FieldIssue[]> {
  const def = podDef();
  const { obj: old } = await created(before);
  const next = clone(old);
  change(next);
  def.defaults?.(next);
  return def.validate(next, old, ctx);
}

test('updates: images and added tolerations may change; everything else in spec is fixed, named by path', async () => {
  const base = pod({ containers: [c(), c({ name: 'd' })], initContainers: [c({ name: 'i' })], nodeName: 'pi-1', tolerations: [{ key: 'site', operator: 'Equal', value: 'north', effect: 'NoSchedule' }] });
  // biome-ignore lint/suspicious/noExplicitAny: the test edits spec fields of every type
  const spec = (p: KubeObject) => p.spec as Record<string, any>;
  assert.deepEqual(
    await updated(base, (p) => {
      spec(p).containers[1].image = 'busybox:1.37';
      spec(p).initContainers[0].image = 'busybox:1.37';
      spec(p).tolerations.push({ key: 'maintenance', operator: 'Exists', effect: 'NoSchedule' });
      spec(p).tolerations[1].tolerationSeconds = 30;
      // a default toleration dropped by a client is defaulted again, so it never counts as removed
      spec(p).tolerations.splice(2, 1);
      p.metadata.labels = { app: 'web' };
    }),
    [],
  );
  const one = async (change: (p: KubeObject) => void) => (await updated(base, change)).map((i) => `${i.path}: ${i.reason.split(':')[0]}`);
  assert.deepEqual(await one((p) => (spec(p).restartPolicy = 'Never')), ['spec.restartPolicy: may not be changed']);
  assert.deepEqual(await one((p) => (spec(p).nodeName = 'pi-2')), ['spec.nodeName: may not be changed']);
  assert.deepEqual(await one((p) => (spec(p).containers[0].command = ['sh'])), ['spec.containers[0].command: may not be changed']);
  assert.deepEqual(await one((p) => spec(p).containers.pop()), ['spec.containers: containers may not be added to or removed from an existing pod']);
  assert.deepEqual(await one((p) => spec(p).tolerations.shift()), ['spec.tolerations: existing tolerations may not be removed or changed, except their tolerationSeconds (tolerations[0] of the pod is missing)']);
  assert.deepEqual(await one((p) => (spec(p).tolerations[0].value = 'south')), ['spec.tolerations: existing tolerations may not be removed or changed, except their tolerationSeconds (tolerations[0] of the pod is missing)']);
});

test('updates: activeDeadlineSeconds may be set or lowered, never raised or removed', async () => {
  // the node schema does not take activeDeadlineSeconds yet; only the update rule is checked here
  const rule = (issues: FieldIssue[]) => issues.filter((i) => i.path === 'spec.activeDeadlineSeconds' && !/not supported/.test(i.reason)).map((i) => i.reason);
  const base = pod({ containers: [c()], activeDeadlineSeconds: 100 });
  const spec = (p: KubeObject) => p.spec as Record<string, unknown>;
  assert.deepEqual(rule(await updated(base, (p) => (spec(p).activeDeadlineSeconds = 50))), []);
  assert.deepEqual(rule(await updated(base, (p) => (spec(p).activeDeadlineSeconds = 200))), ['may only decrease (was 100)']);
  assert.deepEqual(rule(await updated(base, (p) => delete spec(p).activeDeadlineSeconds)), ['may not be removed once set']);
  assert.deepEqual(rule(await updated(pod({ containers: [c()] }), (p) => (spec(p).activeDeadlineSeconds = 10))), []);
});

test('status writes: the shape, container names, IPs, and no way back from a finished phase', async () => {
  const { obj: old } = await created(pod({ containers: [c()] }));
  const withStatus = (status: unknown, from = old) => {
    const next = { ...clone(from), status };
    defaultPod(next);
    return validatePod(next, from).map((i) => `${i.path}: ${i.reason}`);
  };
  const cs = { name: 'c', image: 'busybox:1.36', imageID: '', ready: true, restartCount: 0, state: { running: { startedAt: '2026-01-01T00:00:01Z' } }, lastState: {} };
  assert.deepEqual(withStatus({ phase: 'Running', podIP: '172.17.0.5', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [cs] }), []);
  assert.deepEqual(withStatus({ phase: 'Runing' }), ["status.phase: Invalid option: expected one of \"Pending\"|\"Running\"|\"Succeeded\"|\"Failed\"|\"Unknown\""]);
  assert.deepEqual(withStatus({ phase: 'Running', containerStatuses: [{ ...cs, name: 'ghost' }] }), ['status.containerStatuses[0].name: the pod has no container "ghost"']);
  assert.deepEqual(withStatus({ phase: 'Running', containerStatuses: [cs, cs] }), ['status.containerStatuses[1].name: "c" is reported twice']);
  assert.deepEqual(withStatus({ phase: 'Running', podIP: '6.6.6.6', podIPs: [{ ip: '10.0.0.1' }] }), ['status.podIPs[0].ip: must equal status.podIP (6.6.6.6)']);
  assert.deepEqual(withStatus({ phase: 'Running', podIP: 'not-an-ip' }), ['status.podIP: must be an IP address', 'status.podIPs[0].ip: must be an IP address']);
  assert.deepEqual(withStatus({ phase: 'Running', containerStatuses: [{ ...cs, state: { running: {}, waiting: {} } }] }), ['status.containerStatuses[0].state: at most one of waiting, running or terminated']);
  assert.deepEqual(withStatus({ phase: 'Running', extra: 1 }), ['status.extra: unknown field']);
  const done = { ...clone(old), status: { phase: 'Succeeded' } };
  assert.deepEqual(withStatus({ phase: 'Running' }, done), ['status.phase: may not change from Succeeded to Running: a finished pod stays finished']);
  // a spec-only update does not re-judge a stored status
  const next = clone(done);
  (next.metadata as { labels?: Record<string, string> }).labels = { a: 'b' };
  assert.deepEqual(validatePod(next, done), []);
});

test('field selectors: spec and status fields as Kubernetes names them', async () => {
  const { obj } = await created(pod({ containers: [c()], nodeName: 'pi-1', hostNetwork: true }));
  obj.status = { phase: 'Running', podIP: '192.168.1.20', nominatedNodeName: '' };
  defaultPod(obj);
  assert.deepEqual(podFields(obj), {
    'spec.nodeName': 'pi-1',
    'spec.restartPolicy': 'Always',
    'spec.schedulerName': 'default-scheduler',
    'spec.serviceAccountName': '',
    'spec.hostNetwork': 'true',
    'status.phase': 'Running',
    'status.podIP': '192.168.1.20',
    'status.nominatedNodeName': '',
  });
  assert.deepEqual((obj.status as { podIPs: unknown }).podIPs, [{ ip: '192.168.1.20' }]);
});

test('the definition: names, verbs, subresources, strategic merge, schema name', () => {
  const d = podDef();
  assert.deepEqual([d.group, d.version, d.kind, d.plural, d.singular, d.shortNames, d.categories, d.namespaced], ['', 'v1', 'Pod', 'pods', 'pod', ['po'], ['all'], true]);
  assert.ok(d.strategicMerge && d.statusSubresource);
  assert.deepEqual(d.subresources, ['status', 'log', 'exec', 'attach', 'binding']);
  assert.equal(d.schemaName, 'io.k8s.api.core.v1.Pod');
  // what a client sends as status on create is replaced
  const p = pod({ containers: [c()] }, { status: { phase: 'Running', podIP: '6.6.6.6' } });
  d.prepareForCreate!(p);
  assert.deepEqual(p.status, { phase: 'Pending', qosClass: 'BestEffort' });
});

test('graceful deletion: a bound pod waits its terminationGracePeriodSeconds for the node; unbound or finished pods go at once', () => {
  const bound = (extra: Record<string, unknown> = {}, status?: unknown) => pod({ containers: [c()], nodeName: 'pi-1', ...extra }, status ? { status } : {});
  assert.equal(podGracePeriod(bound({ terminationGracePeriodSeconds: 5 })), 5);
  assert.equal(podGracePeriod(bound()), 30);
  assert.equal(podGracePeriod(bound({ terminationGracePeriodSeconds: 0 })), 0);
  assert.equal(podGracePeriod(bound({}, { phase: 'Running' })), 30);
  assert.equal(podGracePeriod(bound({}, { phase: 'Succeeded' })), undefined);
  assert.equal(podGracePeriod(bound({}, { phase: 'Failed' })), undefined);
  assert.equal(podGracePeriod(pod({ containers: [c()] })), undefined);
  assert.equal(podDef().gracefulDeletion, podGracePeriod);
});
