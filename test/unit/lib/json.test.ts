import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nestedDeeperThan, sameJson, stableStringify } from '../../../src/lib/json.js';

test('nestedDeeperThan counts objects and arrays, scalars are depth 0, and survives hostile depth', () => {
  assert.equal(nestedDeeperThan(1, 0), false);
  assert.equal(nestedDeeperThan(null, 0), false);
  assert.equal(nestedDeeperThan({}, 0), true);
  assert.equal(nestedDeeperThan({ a: { b: [1] } }, 3), false);
  assert.equal(nestedDeeperThan({ a: { b: [1] } }, 2), true);
  assert.equal(nestedDeeperThan({ a: 1, b: { c: [{ d: 1 }] } }, 3), true);
  let deep: unknown = 'x';
  for (let i = 0; i < 1_000_000; i++) deep = [deep];
  assert.equal(nestedDeeperThan(deep, 100), true);
  // wide is not deep
  assert.equal(nestedDeeperThan(Array.from({ length: 100_000 }, () => ({ a: 1 })), 2), false);
});

/** the implementation stableStringify replaced (a sorted copy, then JSON.stringify): its output must not change */
function reference(v: unknown): string {
  const sortKeys = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(sortKeys);
    if (x && typeof x === 'object' && !(x instanceof Date) && !Buffer.isBuffer(x)) {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(x as Record<string, unknown>).sort()) {
        const y = (x as Record<string, unknown>)[k];
        if (y !== undefined) out[k] = sortKeys(y);
      }
      return out;
    }
    return x;
  };
  return JSON.stringify(sortKeys(v));
}

test('stableStringify writes what JSON.stringify of a key-sorted copy writes (stored statuses and label hashes stay equal)', () => {
  const cases: unknown[] = [
    null,
    0,
    -0,
    1.5e300,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    'a"b\\c\u2028\ud800',
    true,
    [],
    {},
    [undefined, () => 1, Symbol('s'), null, 1],
    { b: 1, a: undefined, c: () => 1, d: Symbol('x'), e: null },
    { z: 1, 10: 'ten', 2: 'two', a: 2, '01': 'not an index', '-1': 'neg', 4294967295: 'not an index either', 4294967294: 'max index', B: 3, é: 4, '': 5 },
    { when: new Date(0), buf: Buffer.from('hi'), nested: { y: [1, { b: 2, a: 1 }], x: {} } },
    // biome-ignore lint/suspicious/noSparseArray: a hole, as JSON.stringify meets one
    [1, , 3],
    { toJSON: () => 'ignored: the copy has no toJSON', k: 1 },
    // already in order (written by JSON.stringify directly), and look-alikes that are not
    { a: 1, b: [{ c: 2, d: null }], e: { f: 'g' }, u: undefined },
    { 1: 'x', 2: 'y', a: { 3: 'z', b: 1 } },
    Object.assign(Object.create(null), { a: 1, b: 2 }),
    new String('ab'),
    [new Number(3), new Boolean(false)],
    new (class P {
      a = 1;
      toJSON() {
        return 'inherited toJSON';
      }
    })(),
    new Map([[1, 2]]),
  ];
  for (const c of cases) assert.equal(stableStringify(c), reference(c), JSON.stringify(reference(c)));
  // random documents: keys from a small alphabet with digits (index-like and not), nesting, every scalar kind
  let seed = 7;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const key = (): string => ['a', 'B', 'b', '1', '10', '2', '01', 'x_y', 'é', '0', ''][rnd(11)]!;
  const value = (depth: number): unknown => {
    const r = rnd(depth > 3 ? 6 : 9);
    if (r === 0) return null;
    if (r === 1) return rnd(1000) - 500;
    if (r === 2) return `s${rnd(50)}`;
    if (r === 3) return rnd(2) === 0;
    if (r === 4) return undefined;
    if (r === 5) return rnd(3) / 7;
    if (r === 6) return Array.from({ length: rnd(4) }, () => value(depth + 1));
    const o: Record<string, unknown> = {};
    for (let i = rnd(6); i > 0; i--) o[key()] = value(depth + 1);
    return o;
  };
  for (let i = 0; i < 2000; i++) {
    const v = value(0);
    assert.equal(stableStringify(v), reference(v));
  }
  assert.equal(stableStringify(undefined), undefined);
});

test('sameJson: equal as JSON (key order aside, undefined-valued keys absent), without writing either out', () => {
  assert.equal(sameJson({ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 }), true);
  assert.equal(sameJson({ a: 1, u: undefined }, { a: 1 }), true);
  assert.equal(sameJson({ a: 1 }, { a: 1, u: undefined }), true);
  assert.equal(sameJson(undefined, undefined), true);
  assert.equal(sameJson({ a: 1 }, { a: 2 }), false);
  assert.equal(sameJson({ a: 1 }, { a: 1, b: 0 }), false);
  assert.equal(sameJson({ a: 1, b: 0 }, { a: 1 }), false);
  assert.equal(sameJson([1, 2], [1, 2, 3]), false);
  assert.equal(sameJson([1], { 0: 1 }), false);
  assert.equal(sameJson({ a: null }, { a: undefined }), false);
  assert.equal(sameJson('1', 1), false);
  for (const [a, b] of [
    [{ x: [1, { y: 'z' }] }, { x: [1, { y: 'z' }] }],
    [{ x: 1 }, { x: 1, y: [] }],
    [{ x: { y: 1 } }, { x: { y: 1, z: undefined } }],
  ] as const) assert.equal(sameJson(a, b), stableStringify(a) === stableStringify(b), 'agrees with comparing stableStringify');
});
