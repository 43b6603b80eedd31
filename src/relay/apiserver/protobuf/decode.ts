/**
 * Request bodies in Kubernetes' protobuf encoding, which kubectl 1.32+ sends from its typed
 * clients (`kubectl create namespace|configmap|secret`, `kubectl run`): the `k8s\0` prefix, a
 * runtime.Unknown envelope naming apiVersion and kind, and the object's message inside. Decoded
 * with protobufjs over the upstream message descriptors (kubernetes.json, made by
 * scripts/protobuf/prune-k8s.mjs), then turned into the object's JSON form: Time as RFC 3339,
 * Quantity and IntOrString as their JSON values, []byte as base64, and — as Go's JSON omits
 * them — `false` and empty strings dropped (the protobuf form carries every non-pointer field);
 * numbers are kept even when 0, since a pointer field's 0 means something (runAsUser: 0).
 * Answers stay JSON: kubectl accepts them.
 */
import { badRequest, unsupportedMediaType } from '../../../contract/kube/status.js';
import { protobuf, rootOf, type FieldSpec } from './descriptors.js';
import data from './kubernetes.json' with { type: 'json' };

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

const META = 'k8s.io.apimachinery.pkg.apis.meta.v1';

let root: protobuf.Root | undefined;
const types = (): protobuf.Root => (root ??= rootOf(data.messages as Record<string, Record<string, FieldSpec>>));

function isoSeconds(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The JSON form of one decoded value of message type `t`. */
function toJson(t: protobuf.Type, v: Record<string, unknown>): unknown {
  switch (t.fullName.slice(1)) {
    case `${META}.Time`: {
      const s = Number(v.seconds ?? 0);
      return s === 0 && !v.nanos ? undefined : isoSeconds(s);
    }
    case `${META}.MicroTime`: {
      const s = Number(v.seconds ?? 0);
      if (s === 0 && !v.nanos) return undefined;
      const micros = String(Math.floor(Number(v.nanos ?? 0) / 1000)).padStart(6, '0');
      return isoSeconds(s).replace(/Z$/, `.${micros}Z`);
    }
    case `${META}.Duration`:
      return `${Number(v.duration ?? 0) / 1e9}s`;
    case 'k8s.io.apimachinery.pkg.api.resource.Quantity':
      return v.string ?? '0';
    case 'k8s.io.apimachinery.pkg.util.intstr.IntOrString':
      return Number(v.type ?? 0) === 1 ? (v.strVal ?? '') : Number(v.intVal ?? 0);
    case 'k8s.io.apimachinery.pkg.runtime.RawExtension':
      try {
        return v.raw ? (JSON.parse(Buffer.from(String(v.raw), 'base64').toString('utf8')) as unknown) : undefined;
      } catch {
        throw badRequest('a RawExtension in the protobuf body is not JSON');
      }
  }
  const out: Record<string, unknown> = {};
  for (const f of t.fieldsArray) {
    const x = v[f.name];
    if (x === undefined || x === null || x === false || x === '') continue;
    const sub = f.resolvedType instanceof protobuf.Type ? f.resolvedType : undefined;
    let y: unknown = x;
    if (sub && f.map) y = Object.fromEntries(Object.entries(x as Record<string, Record<string, unknown>>).map(([k, e]) => [k, toJson(sub, e)]));
    else if (sub && f.repeated) y = (x as Record<string, unknown>[]).map((e) => toJson(sub, e));
    else if (sub) y = toJson(sub, x as Record<string, unknown>);
    if (y !== undefined) out[f.name] = y;
  }
  return out;
}

/** The object in a protobuf request body, in its JSON form (apiVersion and kind from the envelope). */
export function decodeKubeProtobuf(body: Buffer): Record<string, unknown> {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) throw badRequest('the protobuf body lacks the k8s\\0 prefix');
  const r = types();
  let envelope: Record<string, unknown>;
  try {
    const u = r.lookupType('k8s.io.apimachinery.pkg.runtime.Unknown');
    envelope = u.toObject(u.decode(body.subarray(4)), { longs: Number, bytes: Buffer, defaults: false });
  } catch (e) {
    throw badRequest(`the protobuf body cannot be decoded: ${e instanceof Error ? e.message : String(e)}`);
  }
  const tm = (envelope.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  if (envelope.contentEncoding) throw unsupportedMediaType(`protobuf content encoding "${String(envelope.contentEncoding)}" is not supported`);
  const name = tm.apiVersion === 'v1' && tm.kind ? `k8s.io.api.core.v1.${tm.kind}` : undefined;
  if (!name || !(data.roots as string[]).includes(name)) {
    throw unsupportedMediaType(`${PROTOBUF_CONTENT_TYPE} bodies are accepted for core/v1 ${(data.roots as string[]).map((x) => x.split('.').pop()).join(', ')}; send ${tm.kind ?? 'this object'} as application/json`);
  }
  const t = r.lookupType(name);
  let obj: Record<string, unknown>;
  try {
    obj = t.toObject(t.decode((envelope.raw as Buffer | undefined) ?? Buffer.alloc(0)), { longs: Number, bytes: String, defaults: false, enums: String });
  } catch (e) {
    throw badRequest(`the ${tm.kind} in the protobuf body cannot be decoded: ${e instanceof Error ? e.message : String(e)}`);
  }
  return { apiVersion: tm.apiVersion, kind: tm.kind, ...(toJson(t, obj) as Record<string, unknown>) };
}
