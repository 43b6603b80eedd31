#!/usr/bin/env node
/**
 * Regenerates src/relay/apiserver/protobuf/openapiv2.json: the message descriptors of gnostic's
 * OpenAPI v2 protobuf form (openapiv2/OpenAPIv2.proto, Apache-2.0, Google LLC), which kubectl 1.27
 * and 1.28 read from GET /openapi/v2 to learn that the server validates fields itself. Same
 * compact format as kubernetes.json (see prune-k8s.mjs).
 *
 *   node scripts/protobuf/prune-gnostic.mjs <google/gnostic checkout> <tag, e.g. v0.7.1>
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const [dir, tag] = process.argv.slice(2);
if (!dir || !tag) {
  console.error('usage: prune-gnostic.mjs <gnostic dir> <tag>');
  process.exit(2);
}
const pbDir = dirname(createRequire(import.meta.url).resolve('protobufjs/package.json'));
const root = new protobuf.Root();
root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? join(pbDir, target) : join(dir, target));
root.loadSync('openapiv2/OpenAPIv2.proto', { keepCase: true });
root.resolveAll();
const keep = new Set();
const visit = (t) => {
  const name = t.fullName.slice(1);
  if (keep.has(name)) return;
  keep.add(name);
  for (const f of t.fieldsArray) if (f.resolvedType instanceof protobuf.Type) visit(f.resolvedType);
};
visit(root.lookupType('openapi.v2.Document'));
const messages = {};
for (const name of [...keep].sort()) {
  const fields = {};
  for (const f of root.lookupType(name).fieldsArray) {
    fields[f.name] = { id: f.id, type: f.resolvedType ? f.resolvedType.fullName.slice(1) : f.type, ...(f.repeated ? { rule: 'repeated' } : {}), ...(f.map ? { keyType: f.keyType } : {}) };
  }
  messages[name] = fields;
}
const target = join(dirname(fileURLToPath(import.meta.url)), '../../src/relay/apiserver/protobuf/openapiv2.json');
writeFileSync(target, JSON.stringify({ source: `google/gnostic ${tag}, openapiv2/OpenAPIv2.proto, Apache-2.0, Google LLC`, roots: ['openapi.v2.Document'], messages }) + '\n');
console.log(`wrote ${target}: ${keep.size} messages`);
