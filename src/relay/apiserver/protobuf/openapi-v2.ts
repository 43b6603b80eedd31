/**
 * GET /openapi/v2 in the only form kubectl reads it, gnostic's protobuf
 * (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`). kubectl 1.27 and 1.28 look
 * there (not at v3) for a PATCH operation of the kind that declares `fieldValidation`; finding it,
 * they validate on the server, as 1.29+ do from v3. The document carries those operations and
 * no definitions: for patch metadata kubectl then uses its compiled-in types (built-in kinds) or
 * a merge patch (custom kinds), as with no v2 document at all.
 */
import type { protobuf } from './descriptors.js';
import { rootOf, type FieldSpec } from './descriptors.js';
import data from './openapiv2.json' with { type: 'json' };

export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

export interface V2Operation {
  /** the item path, e.g. /api/v1/namespaces/{namespace}/pods/{name} */
  path: string;
  group: string;
  version: string;
  kind: string;
}

let root: protobuf.Root | undefined;

export function encodeOpenApiV2(title: string, version: string, ops: readonly V2Operation[]): Buffer {
  root ??= rootOf(data.messages as Record<string, Record<string, FieldSpec>>);
  const Document = root.lookupType('openapi.v2.Document');
  const query = (name: string) => ({ parameter: { non_body_parameter: { query_parameter_sub_schema: { in: 'query', name, type: 'string', unique_items: true } } } });
  const doc = {
    swagger: '2.0',
    info: { title, version },
    paths: {
      path: ops.map((o) => ({
        name: o.path,
        value: {
          patch: {
            operation_id: `patch${o.kind}`,
            consumes: ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml'],
            produces: ['application/json'],
            parameters: ['dryRun', 'fieldManager', 'fieldValidation', 'force'].map(query),
            responses: { response_code: [{ name: '200', value: { response: { description: 'OK' } } }] },
            vendor_extension: [
              { name: 'x-kubernetes-action', value: { yaml: 'patch\n' } },
              { name: 'x-kubernetes-group-version-kind', value: { yaml: `group: ${JSON.stringify(o.group)}\nkind: ${o.kind}\nversion: ${o.version}\n` } },
            ],
          },
        },
      })),
    },
  };
  const problem = Document.verify(doc);
  if (problem) throw new Error(`openapi v2 document: ${problem}`);
  return Buffer.from(Document.encode(Document.fromObject(doc)).finish());
}

/** The document back as an object (tests). */
export function decodeOpenApiV2(buf: Buffer): Record<string, unknown> {
  root ??= rootOf(data.messages as Record<string, Record<string, FieldSpec>>);
  const Document = root.lookupType('openapi.v2.Document');
  return Document.toObject(Document.decode(buf), { defaults: false }) as Record<string, unknown>;
}
