/**
 * JSON with object keys sorted, so equal values give equal strings (change detection, hashing).
 * Written directly, without building a sorted copy of the value: statuses are serialised many
 * times a second (device reports) and the copies were ~12 % of the daemon's allocations
 * (docs/benchmarks.md, footprint, fourth round). The output is exactly that of
 * `JSON.stringify` of a copy with sorted keys, integer-like keys first as JavaScript orders
 * them (stored strings and label hashes made before stay equal; test/unit/lib/json.test.ts).
 */
export function stableStringify(v: unknown): string {
  // a value whose keys are already in that order (a status its writer builds sorted) is what
  // JSON.stringify writes, in one native pass
  return inOrder(v, 0) ? JSON.stringify(v) : (write(v) as string);
}

/** true when JSON.stringify(v) writes every object's keys in stableStringify's order (checked to a bounded depth) */
function inOrder(v: unknown, depth: number): boolean {
  if (v === null || typeof v !== 'object') return true;
  if (depth > 16) return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!inOrder(v[i], depth + 1)) return false;
    return true;
  }
  if (v instanceof Date || Buffer.isBuffer(v)) return true;
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false; // boxed values, class instances: the slow path decides
  const o = v as Record<string, unknown>;
  if (typeof o.toJSON === 'function') return false;
  const keys = Object.keys(o);
  let i = 0;
  while (i < keys.length && isIndex(keys[i]!)) i++;
  for (let j = i + 1; j < keys.length; j++) if (keys[j - 1]! > keys[j]!) return false;
  for (let j = 0; j < keys.length; j++) if (!inOrder(o[keys[j]!], depth + 1)) return false;
  return true;
}

/** an array index as JavaScript orders object keys (these come first, ascending) */
const isIndex = (k: string): boolean => {
  const c = k.charCodeAt(0);
  if (c < 48 || c > 57 || (c === 48 && k.length > 1) || k.length > 10) return false;
  for (let i = 1; i < k.length; i++) {
    const d = k.charCodeAt(i);
    if (d < 48 || d > 57) return false;
  }
  return Number(k) < 4294967295;
};

/** the serialised value; undefined where JSON.stringify leaves a member out (undefined, functions, symbols) */
function write(v: unknown): string | undefined {
  if (v === null || typeof v !== 'object') return typeof v === 'function' ? undefined : JSON.stringify(v);
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) out += `${i ? ',' : ''}${write(v[i]) ?? 'null'}`;
    return `${out}]`;
  }
  if (v instanceof Date || Buffer.isBuffer(v)) return JSON.stringify(v);
  const o = v as Record<string, unknown>;
  // an own toJSON member was copied too, and JSON.stringify called it on the copy: so here
  if (typeof o.toJSON === 'function' && Object.prototype.propertyIsEnumerable.call(o, 'toJSON')) return JSON.stringify(sortedCopy(o));
  const keys = Object.keys(o);
  // Object.keys lists index keys first (ascending), then the others in insertion order: sort those
  let first = 0;
  while (first < keys.length && isIndex(keys[first]!)) first++;
  sortFrom(keys, first);
  let out = '{';
  let n = 0;
  // indexed loops here and below: the daemon runs without TurboFan, where for-of allocates an iterator per loop
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const x = o[k];
    if (x === undefined) continue;
    const s = write(x);
    if (s === undefined) continue;
    out += `${n++ ? ',' : ''}${JSON.stringify(k)}:${s}`;
  }
  return `${out}}`;
}

function sortedCopy(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortedCopy);
  if (v && typeof v === 'object' && !(v instanceof Date) && !Buffer.isBuffer(v)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as Record<string, unknown>).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortedCopy(x);
    }
    return out;
  }
  return v;
}

/** sort `a[from..]` in place as Array.prototype.sort does strings (UTF-16 code units), without its scratch copy */
function sortFrom(a: string[], from: number): void {
  for (let i = from + 1; i < a.length; i++) {
    const k = a[i]!;
    let j = i - 1;
    while (j >= from && a[j]! > k) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = k;
  }
}

/**
 * True when `v` nests arrays/objects deeper than `max` levels (a scalar is depth 0). Iterative,
 * so a hostile document cannot overflow the stack of the check itself; code that recurses over
 * parsed input runs only after it.
 */
export function nestedDeeperThan(v: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== 'object') continue;
    if (d + 1 > max) return true;
    for (const c of Array.isArray(x) ? x : Object.values(x as Record<string, unknown>)) if (c !== null && typeof c === 'object') stack.push([c, d + 1]);
  }
  return false;
}

/**
 * Whether two JSON values are the same as JSON (key order aside; a key whose value is
 * undefined counts as absent, as JSON.stringify leaves it out), found without writing either
 * out: a change check that allocates nothing (nodestatus compares its report every period).
 */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  for (const k in x) if (Object.hasOwn(x, k) && !sameJson(x[k], Object.hasOwn(y, k) ? y[k] : undefined)) return false;
  for (const k in y) if (Object.hasOwn(y, k) && y[k] !== undefined && !Object.hasOwn(x, k)) return false;
  return true;
}
