#!/usr/bin/env node
/**
 * Regenerates src/relay/openapi/data/kubernetes.json: the schemas of the built-in kinds the relay
 * serves, taken as data from the upstream Kubernetes OpenAPI document (Apache-2.0, The Kubernetes
 * Authors) and pruned to what those kinds reach.
 *
 *   node scripts/openapi/prune-k8s.mjs <swagger.json> <kubernetes minor, e.g. 1.33>
 *
 * Input: the upstream `api/openapi-spec/swagger.json` of a release branch (the Kubernetes Python
 * client ships it unchanged as `kubernetes/swagger.json.unprocessed`; its v33.1.0 tag is
 * release-1.33). The v2 definitions are turned into OpenAPI v3 component schemas the way the
 * apiserver's own v3 documents write them: `#/components/schemas/` references, and a reference
 * that carries its own description or extensions wrapped in `allOf`.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The kinds the relay serves (and the next issues need). */
export const ROOTS = [
  'io.k8s.api.core.v1.Pod',
  'io.k8s.api.core.v1.Node',
  'io.k8s.api.core.v1.Namespace',
  'io.k8s.api.core.v1.ConfigMap',
  'io.k8s.api.core.v1.Secret',
  'io.k8s.api.core.v1.Event',
  'io.k8s.api.core.v1.Binding',
  'io.k8s.api.core.v1.Service',
  'io.k8s.api.apps.v1.Deployment',
  'io.k8s.api.apps.v1.ReplicaSet',
  'io.k8s.api.apps.v1.DaemonSet',
  'io.k8s.api.batch.v1.Job',
  'io.k8s.api.batch.v1.CronJob',
  'io.k8s.api.autoscaling.v1.Scale',
  'io.k8s.api.discovery.v1.EndpointSlice',
  'io.k8s.api.core.v1.Endpoints',
  'io.k8s.api.coordination.v1.Lease',
];

const REF = '#/definitions/';
const KEEP = new Set(['type', 'format', 'description', 'properties', 'items', 'additionalProperties', 'required', 'enum', 'default', '$ref']);

function convert(node) {
  if (Array.isArray(node)) return node.map(convert);
  if (!node || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (!KEEP.has(k) && !k.startsWith('x-kubernetes-')) continue;
    if (k === 'properties') out[k] = Object.fromEntries(Object.entries(v).map(([p, s]) => [p, convert(s)]));
    else if (k === '$ref') out[k] = `#/components/schemas/${v.slice(REF.length)}`;
    else if (k === 'items' || k === 'additionalProperties') out[k] = typeof v === 'object' ? convert(v) : v;
    else out[k] = v; // values, not schemas: enum, default, required, extensions
  }
  if (out.$ref && Object.keys(out).length > 1) {
    const { $ref, ...rest } = out;
    return { allOf: [{ $ref }], ...rest };
  }
  return out;
}

function refsOf(node, into) {
  if (Array.isArray(node)) node.forEach((n) => refsOf(n, into));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') into.push(v.slice(REF.length));
      else refsOf(v, into);
    }
  }
}

export function prune(swagger, minor) {
  const defs = swagger.definitions;
  const seen = new Set();
  const todo = [...ROOTS];
  while (todo.length) {
    const name = todo.pop();
    if (seen.has(name)) continue;
    if (!defs[name]) throw new Error(`definition ${name} is not in the input`);
    seen.add(name);
    const refs = [];
    refsOf(defs[name], refs);
    todo.push(...refs);
  }
  const schemas = {};
  for (const name of [...seen].sort()) schemas[name] = convert(defs[name]);
  return {
    source: `Kubernetes ${minor} api/openapi-spec/swagger.json, definitions reachable from the served kinds, as OpenAPI v3 component schemas`,
    license: 'Apache-2.0, Copyright The Kubernetes Authors',
    inputSha256: createHash('sha256').update(JSON.stringify(swagger)).digest('hex'),
    roots: ROOTS,
    schemas,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [input, minor] = process.argv.slice(2);
  if (!input || !/^1\.\d+$/.test(minor ?? '')) {
    process.stderr.write('usage: node scripts/openapi/prune-k8s.mjs <swagger.json> <minor, e.g. 1.33>\n');
    process.exit(2);
  }
  const out = prune(JSON.parse(readFileSync(input, 'utf8')), minor);
  const target = join(dirname(fileURLToPath(import.meta.url)), '../../src/relay/openapi/data/kubernetes.json');
  const text = JSON.stringify(out);
  writeFileSync(target, `${text}\n`);
  process.stdout.write(`${Object.keys(out.schemas).length} schemas, ${text.length} bytes -> ${target}\n`);
}
