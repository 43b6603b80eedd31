#!/usr/bin/env node
/**
 * Regenerates src/relay/apiserver/protobuf/kubernetes.json: the protobuf message descriptors of
 * the built-in kinds kubectl may send as `application/vnd.kubernetes.protobuf` (its typed
 * clients do: `kubectl create namespace|configmap|secret`, `kubectl run`), taken as data from the
 * upstream generated.proto files (Apache-2.0, The Kubernetes Authors) and pruned to what those
 * kinds reach. Comments are dropped; field names and numbers are kept as upstream has them.
 *
 *   node scripts/protobuf/prune-k8s.mjs <k8s.io/api checkout> <k8s.io/apimachinery checkout> <release, e.g. 1.33.13>
 *
 * The checkouts are git trees of kubernetes/api and kubernetes/apimachinery at tag v0.<minor>.<patch>.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

export const ROOTS = ['Namespace', 'ConfigMap', 'Secret', 'Pod', 'Node', 'Event', 'Service', 'Endpoints'].map((k) => `k8s.io.api.core.v1.${k}`);
const FILES = {
  'k8s.io/api/core/v1/generated.proto': ['api', 'core/v1/generated.proto'],
  'k8s.io/apimachinery/pkg/api/resource/generated.proto': ['apimachinery', 'pkg/api/resource/generated.proto'],
  'k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto': ['apimachinery', 'pkg/apis/meta/v1/generated.proto'],
  'k8s.io/apimachinery/pkg/runtime/generated.proto': ['apimachinery', 'pkg/runtime/generated.proto'],
  'k8s.io/apimachinery/pkg/runtime/schema/generated.proto': ['apimachinery', 'pkg/runtime/schema/generated.proto'],
  'k8s.io/apimachinery/pkg/util/intstr/generated.proto': ['apimachinery', 'pkg/util/intstr/generated.proto'],
};

const [apiDir, machineryDir, release] = process.argv.slice(2);
if (!apiDir || !machineryDir || !release) {
  console.error('usage: prune-k8s.mjs <k8s.io/api dir> <k8s.io/apimachinery dir> <release>');
  process.exit(2);
}
const root = new protobuf.Root();
root.resolvePath = (_origin, target) => {
  const f = FILES[target];
  if (!f) throw new Error(`unexpected import ${target}`);
  return join(f[0] === 'api' ? apiDir : machineryDir, f[1]);
};
root.loadSync('k8s.io/api/core/v1/generated.proto', { keepCase: true });
root.resolveAll();

// every message reachable from the roots, plus runtime.Unknown (the envelope)
const keep = new Set(['k8s.io.apimachinery.pkg.runtime.Unknown']);
const visit = (t) => {
  const name = t.fullName.slice(1);
  if (keep.has(name) && name !== 'k8s.io.apimachinery.pkg.runtime.Unknown') return;
  keep.add(name);
  for (const f of t.fieldsArray) if (f.resolvedType instanceof protobuf.Type) visit(f.resolvedType);
};
for (const r of ROOTS) visit(root.lookupType(r));
visit(root.lookupType('k8s.io.apimachinery.pkg.runtime.Unknown'));

const out = {};
for (const name of [...keep].sort()) {
  const t = root.lookupType(name);
  const fields = {};
  for (const f of t.fieldsArray) {
    fields[f.name] = { id: f.id, type: f.resolvedType ? f.resolvedType.fullName.slice(1) : f.type, ...(f.repeated ? { rule: 'repeated' } : {}), ...(f.map ? { keyType: f.keyType } : {}) };
  }
  out[name] = fields;
}
const data = {
  source: `k8s.io/api and k8s.io/apimachinery v0.${release.split('.').slice(1).join('.')} (Kubernetes ${release}), generated.proto, Apache-2.0, The Kubernetes Authors`,
  roots: ROOTS,
  messages: out,
};
const target = join(dirname(fileURLToPath(import.meta.url)), '../../src/relay/apiserver/protobuf/kubernetes.json');
mkdirSync(dirname(target), { recursive: true });
writeFileSync(target, JSON.stringify(data) + '\n');
console.log(`wrote ${target}: ${keep.size} messages`);
