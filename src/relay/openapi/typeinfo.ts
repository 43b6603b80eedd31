/**
 * Navigation over OpenAPI v3 component schemas, as the patch and apply algorithms need it: what a
 * field is (struct, map, list, scalar, or untyped), how a list merges (x-kubernetes-list-type,
 * list-map-keys; x-kubernetes-patch-strategy and patch-merge-key for strategic merge) and whether
 * a map or struct is atomic (x-kubernetes-map-type). A reference wrapped in `allOf` carries its
 * own extensions (e.g. `strategy: retainKeys`), which win over the referenced schema's.
 */

export type Schema = { [key: string]: unknown };
export type NodeKind = 'struct' | 'map' | 'list' | 'scalar' | 'untyped';
export type ListType = 'atomic' | 'set' | 'map';

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

const isSchema = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);
const COMPONENT_REF = '#/components/schemas/';

/** One place in a schema. Nodes are cheap views; children are made on demand. */
export class TypeNode {
  readonly kind: NodeKind;
  /** the resolved schema with the referencing wrapper's own keys laid over it */
  private readonly s: Schema;

  constructor(
    private readonly catalog: SchemaCatalog | undefined,
    schema: Schema | undefined,
  ) {
    this.s = catalog && schema ? catalog.resolve(schema) : (schema ?? {});
    this.kind = kindOf(this.s);
  }

  /** a node for anything the schema does not describe: maps granular, lists atomic */
  static untyped(): TypeNode {
    return new TypeNode(undefined, undefined);
  }

  get schema(): Schema {
    return this.s;
  }
  get description(): string | undefined {
    return typeof this.s.description === 'string' ? this.s.description : undefined;
  }

  /** x-kubernetes-patch-strategy split on commas (merge, replace, retainKeys) */
  get patchStrategies(): string[] {
    const v = this.s['x-kubernetes-patch-strategy'];
    return typeof v === 'string' && v ? v.split(',').map((x) => x.trim()) : [];
  }
  get patchMergeKey(): string | undefined {
    const v = this.s['x-kubernetes-patch-merge-key'];
    return typeof v === 'string' && v ? v : undefined;
  }

  /** How server-side apply treats this list (Kubernetes' defaults when the schema is silent). */
  get listType(): ListType {
    const v = this.s['x-kubernetes-list-type'];
    if (v === 'atomic' || v === 'set' || v === 'map') return v;
    if (this.patchStrategies.includes('merge')) return this.patchMergeKey ? 'map' : 'set';
    return 'atomic';
  }
  get listMapKeys(): string[] {
    const v = this.s['x-kubernetes-list-map-keys'];
    if (Array.isArray(v) && v.every((k) => typeof k === 'string')) return v as string[];
    return this.patchMergeKey ? [this.patchMergeKey] : [];
  }
  /** x-kubernetes-map-type: atomic (a struct or map replaced and owned as one value) */
  get atomic(): boolean {
    if (this.kind === 'list') return this.listType === 'atomic';
    return this.s['x-kubernetes-map-type'] === 'atomic';
  }

  /** declared properties of a struct */
  fieldNames(): string[] {
    return isSchema(this.s.properties) ? Object.keys(this.s.properties) : [];
  }

  /** true when `name` is declared, or the struct/map accepts any key */
  accepts(name: string): boolean {
    if (this.kind === 'untyped' || this.kind === 'map') return true;
    if (this.kind !== 'struct') return false;
    if (isSchema(this.s.properties) && Object.hasOwn(this.s.properties, name)) return true;
    return this.s['x-kubernetes-preserve-unknown-fields'] === true || isSchema(this.s.additionalProperties) || this.s.additionalProperties === true;
  }

  /** the type of a struct field or map value; untyped where nothing is said; undefined where the field is unknown */
  field(name: string): TypeNode | undefined {
    if (this.kind === 'untyped') return TypeNode.untyped();
    if (this.kind === 'map') return this.elem();
    if (this.kind !== 'struct') return undefined;
    const props = isSchema(this.s.properties) ? this.s.properties : {};
    const p = Object.hasOwn(props, name) ? props[name] : undefined;
    if (isSchema(p)) return new TypeNode(this.catalog, p);
    if (isSchema(this.s.additionalProperties)) return new TypeNode(this.catalog, this.s.additionalProperties);
    if (this.s['x-kubernetes-preserve-unknown-fields'] === true || this.s.additionalProperties === true) return TypeNode.untyped();
    return undefined;
  }

  /** list items or map values */
  elem(): TypeNode {
    const e = this.kind === 'list' ? this.s.items : this.s.additionalProperties;
    return isSchema(e) ? new TypeNode(this.catalog, e) : TypeNode.untyped();
  }
}

function kindOf(s: Schema): NodeKind {
  if (s['x-kubernetes-int-or-string'] === true || s.format === 'int-or-string') return 'scalar';
  const type = s.type;
  if (type === 'array') return 'list';
  if (isSchema(s.properties) && Object.keys(s.properties).length > 0) return 'struct';
  if (type === 'object') {
    if (isSchema(s.additionalProperties)) return 'map';
    return 'untyped';
  }
  if (type === 'string' || type === 'integer' || type === 'number' || type === 'boolean') return 'scalar';
  return 'untyped';
}

export interface TypeInfo extends GroupVersionKind {
  /** the component schema the kind is described by (e.g. io.k8s.api.core.v1.Pod) */
  schemaName: string;
  root: TypeNode;
}

/** A set of component schemas, indexed by the kinds they declare (x-kubernetes-group-version-kind). */
export class SchemaCatalog {
  private readonly byGvk = new Map<string, string>();

  constructor(readonly schemas: Readonly<Record<string, Schema>>) {
    for (const [name, s] of Object.entries(schemas)) {
      const gvks = s['x-kubernetes-group-version-kind'];
      if (!Array.isArray(gvks)) continue;
      for (const g of gvks as GroupVersionKind[]) this.byGvk.set(gvkKey(g.group, g.version, g.kind), name);
    }
  }

  schemaNameFor(group: string, version: string, kind: string): string | undefined {
    return this.byGvk.get(gvkKey(group, version, kind));
  }

  typeInfoFor(group: string, version: string, kind: string): TypeInfo | undefined {
    const schemaName = this.schemaNameFor(group, version, kind);
    if (!schemaName) return undefined;
    return { group, version, kind, schemaName, root: this.node(schemaName) };
  }

  node(schemaName: string): TypeNode {
    return new TypeNode(this, { $ref: COMPONENT_REF + schemaName });
  }

  /** Follow `$ref` and single-`allOf` wrappers; the wrappers' own keys override the target's. */
  resolve(schema: Schema): Schema {
    let s = schema;
    const overlays: Schema[] = [];
    for (let depth = 0; depth < 32; depth++) {
      const ref = typeof s.$ref === 'string' ? s.$ref : Array.isArray(s.allOf) && s.allOf.length === 1 && isSchema(s.allOf[0]) ? s.allOf[0].$ref : undefined;
      if (typeof ref !== 'string') break;
      const { $ref: _r, allOf: _a, ...own } = s;
      overlays.push(own);
      const target = ref.startsWith(COMPONENT_REF) ? this.schemas[ref.slice(COMPONENT_REF.length)] : undefined;
      if (!target) return Object.assign({}, ...overlays.reverse()) as Schema;
      s = target;
    }
    // outer wrappers win over inner ones, which win over the target
    return overlays.length ? (Object.assign({}, s, ...overlays.reverse()) as Schema) : s;
  }
}

function gvkKey(group: string, version: string, kind: string): string {
  return `${group}/${version}/${kind}`;
}
