/**
 * protobufjs types from the compact descriptor files of this folder (kubernetes.json,
 * openapiv2.json: message → field → {id, type, rule?, keyType?}, made by scripts/protobuf/).
 */
import protobuf from 'protobufjs/light.js';

export interface FieldSpec {
  id: number;
  type: string;
  rule?: string;
  keyType?: string;
}

const SCALARS = new Set(['double', 'float', 'int32', 'uint32', 'sint32', 'fixed32', 'sfixed32', 'int64', 'uint64', 'sint64', 'fixed64', 'sfixed64', 'bool', 'string', 'bytes']);

export function rootOf(messages: Record<string, Record<string, FieldSpec>>): protobuf.Root {
  const r = new protobuf.Root();
  for (const [full, fields] of Object.entries(messages)) {
    const dot = full.lastIndexOf('.');
    const t = new protobuf.Type(full.slice(dot + 1));
    for (const [name, f] of Object.entries(fields)) {
      const type = SCALARS.has(f.type) ? f.type : `.${f.type}`;
      t.add(f.keyType ? new protobuf.MapField(name, f.id, f.keyType, type) : new protobuf.Field(name, f.id, type, f.rule === 'repeated' ? 'repeated' : 'optional'));
    }
    r.define(full.slice(0, dot)).add(t);
  }
  r.resolveAll();
  return r;
}

export { protobuf };
