// Runs inside a pod on the node (the node binary and this folder's node_modules mounted in):
// @kubernetes/client-node with its default config, which in a pod is the in-cluster one (the
// mounted token and CA, KUBERNETES_SERVICE_HOST/PORT). Lists pods and devices, then watches
// both from the lists' resourceVersion; prints one JSON line per finding.
import * as k8s from '@kubernetes/client-node';

const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const kc = new k8s.KubeConfig();
kc.loadFromDefault();
out({ event: 'config', server: kc.getCurrentCluster()?.server, user: kc.getCurrentUser()?.name });
const namespace = 'default';
try {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const pods = await core.listNamespacedPod({ namespace });
  const devices = await custom.listNamespacedCustomObject({ group: 'devices.kubeedge.io', version: 'v1beta1', namespace, plural: 'devices' });
  out({ event: 'list', pods: pods.items.map((p) => p.metadata.name), devices: devices.items.map((d) => d.metadata.name), rv: pods.metadata.resourceVersion });
  let denied;
  try {
    await core.listNamespacedSecret({ namespace: 'kube-system' });
  } catch (e) {
    denied = e.code;
  }
  out({ event: 'other-namespace', code: denied });
  const watch = new k8s.Watch(kc);
  const on = (kind) => (type, obj) => out({ event: 'watch', kind, type, name: obj.metadata?.name, rv: obj.metadata?.resourceVersion });
  await watch.watch(`/api/v1/namespaces/${namespace}/pods`, { resourceVersion: pods.metadata.resourceVersion }, on('Pod'), (err) => out({ event: 'done', kind: 'Pod', err: String(err) }));
  await watch.watch(`/apis/devices.kubeedge.io/v1beta1/namespaces/${namespace}/devices`, { resourceVersion: devices.metadata.resourceVersion }, on('Device'), (err) => out({ event: 'done', kind: 'Device', err: String(err) }));
  out({ event: 'watching' });
} catch (e) {
  out({ event: 'error', message: String(e?.message ?? e), code: e?.code, body: e?.body });
  process.exitCode = 1;
}
