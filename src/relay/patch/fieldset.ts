/**
 * Sets of field paths, as server-side apply records ownership: a tree whose edges are path
 * elements in the FieldsV1 spelling — `f:<field>`, `k:{"name":"c"}` (an item of a map-list, its
 * keys sorted), `v:<json>` (an item of a set), `i:<n>` (an index) — and whose nodes may be members
 * (the path itself is owned; written `.` when the node also has children).
 */
import { PatchError } from './errors.js';

export type PathElement = string;
export type FieldPath = readonly PathElement[];

export class FieldSet {
  member = false;
  readonly children = new Map<PathElement, FieldSet>();

  static of(paths: Iterable<FieldPath>): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.insert(p);
    return s;
  }

  insert(path: FieldPath): void {
    let node: FieldSet = this;
    for (const pe of path) {
      let next = node.children.get(pe);
      if (!next) {
        next = new FieldSet();
        node.children.set(pe, next);
      }
      node = next;
    }
    if (path.length > 0) node.member = true;
  }

  private at(path: FieldPath): FieldSet | undefined {
    let node: FieldSet | undefined = this;
    for (const pe of path) node = node?.children.get(pe);
    return node;
  }

  has(path: FieldPath): boolean {
    return path.length > 0 && this.at(path)?.member === true;
  }

  /** some member lies strictly below `path` */
  hasBelow(path: FieldPath): boolean {
    const node = this.at(path);
    return !!node && [...node.children.values()].some((c) => !c.isEmpty());
  }

  isEmpty(): boolean {
    return !this.member && [...this.children.values()].every((c) => c.isEmpty());
  }

  /** every member path, parents before their children */
  paths(prefix: PathElement[] = []): PathElement[][] {
    const out: PathElement[][] = [];
    for (const [pe, c] of this.children) {
      const p = [...prefix, pe];
      if (c.member) out.push(p);
      out.push(...c.paths(p));
    }
    return out;
  }

  union(other: FieldSet): FieldSet {
    return FieldSet.of([...this.paths(), ...other.paths()]);
  }
  difference(other: FieldSet): FieldSet {
    return FieldSet.of(this.paths().filter((p) => !other.has(p)));
  }
  intersection(other: FieldSet): FieldSet {
    return FieldSet.of(this.paths().filter((p) => other.has(p)));
  }
  /** members of this set that are not `paths` and lie under none of them */
  without(prefixes: FieldPath[]): FieldSet {
    return FieldSet.of(this.paths().filter((p) => !prefixes.some((x) => x.length <= p.length && x.every((e, i) => e === p[i]))));
  }

  /** The FieldsV1 JSON object (`{"f:spec":{"f:containers":{"k:{\"name\":\"c\"}":{".":{},"f:image":{}}}}}`). */
  toFieldsV1(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [pe, c] of [...this.children].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (c.isEmpty()) continue;
      const inner = c.toFieldsV1();
      out[pe] = c.member && Object.keys(inner).length > 0 ? { '.': {}, ...inner } : inner;
    }
    return out;
  }

  /** Read a FieldsV1 object; a malformed one (a stored object edited by hand) is refused. */
  static fromFieldsV1(v: unknown, where = 'fieldsV1'): FieldSet {
    const s = new FieldSet();
    const walk = (node: unknown, path: PathElement[], at: string): void => {
      if (typeof node !== 'object' || node === null || Array.isArray(node)) throw new PatchError(`${at}: must be an object`);
      const keys = Object.keys(node);
      if (path.length > 0 && (keys.length === 0 || keys.includes('.'))) s.insert(path);
      for (const k of keys) {
        if (k === '.') continue;
        if (!/^[fkvi]:/.test(k)) throw new PatchError(`${at}: "${k}" is not a field path element`);
        walk((node as Record<string, unknown>)[k], [...path, k], `${at}.${k}`);
      }
    };
    walk(v, [], where);
    return s;
  }
}

/** `f:` element for a field or map key. */
export const fieldPE = (name: string): PathElement => `f:${name}`;
/** `k:` element for a map-list item: its key fields, sorted by name. */
export function keyPE(keys: Record<string, unknown>): PathElement {
  const sorted = Object.fromEntries(Object.keys(keys).sort().map((k) => [k, keys[k]]));
  return `k:${JSON.stringify(sorted)}`;
}
/** `v:` element for a set item. */
export const valuePE = (v: unknown): PathElement => `v:${canonicalJson(v)}`;
export const indexPE = (i: number): PathElement => `i:${i}`;

export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Kubernetes' printed form of a path: `.spec.containers[name="c"].image`, `[=x]` for set items. */
export function pathString(path: FieldPath): string {
  return path
    .map((pe) => {
      const body = pe.slice(2);
      switch (pe[0]) {
        case 'f':
          return `.${body}`;
        case 'k': {
          const keys = JSON.parse(body) as Record<string, unknown>;
          return `[${Object.entries(keys).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}]`;
        }
        case 'v':
          return `[=${body}]`;
        default:
          return `[${body}]`;
      }
    })
    .join('');
}
