import assert from 'node:assert/strict';
import { test } from 'node:test';
import { topicMatches } from '../../../src/contract/appchan.js';
import { covers, keepCopy, subscriptionCover, subscriptionIdOf } from '../../../src/modules/eventbus/overlap.js';

const FILTERS = ['$hw/events/upload/#', 'SYS/dis/upload_records', '+/user/#', 'plant/user/#', 'plant/data'];
const COVER = ['$hw/events/upload/#', '+/user/#', 'SYS/dis/upload_records', 'plant/data'];

test('subscription ids: stable per filter, in the MQTT 5 range, distinct for distinct filters here', () => {
  const ids = FILTERS.map(subscriptionIdOf);
  assert.deepEqual(ids, FILTERS.map(subscriptionIdOf));
  for (const id of ids) assert.ok(Number.isInteger(id) && id >= 1 && id <= 268_435_455);
  assert.equal(new Set(ids).size, FILTERS.length);
});

test('covers: every topic the inner filter matches, the outer one matches', () => {
  const yes: [string, string][] = [
    ['+/user/#', 'plant/user/#'],
    ['+/user/#', 'plant/user/temperature'],
    ['+/user/#', '+/user/a/+'],
    ['$hw/events/upload/#', '$hw/events/upload/vibration-1'],
    ['a/#', 'a'],
    ['a/#', 'a/#'],
    ['#', '+/x'],
    ['a/+', 'a/b'],
  ];
  const no: [string, string][] = [
    ['plant/user/#', '+/user/#'],
    ['+/user/#', '$hw/user/x'],
    ['#', '$hw/events/upload/#'],
    ['+/+', '$SYS/x'],
    ['a/+', 'a/#'],
    ['a/+', 'a/b/c'],
    ['a/b', 'a/+'],
    ['a/+/c', 'a/b/#'],
    ['a/b/#', 'a/+/c'],
    ['a/+/#', 'a'],
  ];
  for (const [o, i] of yes) assert.equal(covers(o, i), true, `${o} covers ${i}`);
  for (const [o, i] of no) assert.equal(covers(o, i), false, `${o} does not cover ${i}`);
  // checked against topicMatches on concrete topics
  const topics = ['a', 'a/b', 'a/b/c', 'a/x/c', 'plant/user/t', '$hw/user/x', '$hw/events/upload/v', 'x/y'];
  for (const [o, i] of [...yes, ...no]) {
    if (!covers(o, i)) continue;
    for (const t of topics) if (topicMatches(i, t)) assert.ok(topicMatches(o, t), `${o} ⊇ ${i} on ${t}`);
  }
});

test('covers, over every filter of up to three levels of a, b, +, #: sound against topicMatches, and two different filters never cover each other', () => {
  const levels = ['a', 'b', '+', '#'];
  const filters: string[] = [];
  const grow = (prefix: string[]): void => {
    if (prefix.length > 0) filters.push(prefix.join('/'));
    if (prefix.length === 3 || prefix.at(-1) === '#') return;
    for (const l of levels) grow([...prefix, l]);
  };
  grow([]);
  const topics: string[] = [];
  for (const x of ['a', 'b']) for (const y of ['', '/a', '/b']) for (const z of y ? ['', '/a', '/b'] : ['']) topics.push(x + y + z);
  for (const o of filters) {
    for (const i of filters) {
      if (!covers(o, i)) continue;
      assert.ok(o === i || !covers(i, o), `${o} and ${i} cover each other`);
      for (const t of topics) if (topicMatches(i, t)) assert.ok(topicMatches(o, t), `${o} ⊇ ${i} on ${t}`);
    }
  }
  // the cover of all of them is the one filter matching everything
  assert.deepEqual(subscriptionCover(filters), ['#']);
});

test('the cover: covered filters are not subscribed; overlapping ones that do not cover each other both are', () => {
  assert.deepEqual(subscriptionCover(FILTERS), COVER);
  assert.deepEqual(subscriptionCover(['a/+/c', 'a/b/#', 'a/b/#']), ['a/+/c', 'a/b/#']);
  assert.deepEqual(subscriptionCover(['#', 'x', '$hw/events/upload/#']), ['#', '$hw/events/upload/#']);
});

test('overlapping subscriptions: of the copies a broker sends one per matching filter, exactly one is kept', () => {
  const topic = 'a/b/c'; // a/+/c and a/b/#: both subscribed
  const wanted = ['a/+/c', 'a/b/#'];
  const copies = wanted.map((f) => [subscriptionIdOf(f)]);
  assert.deepEqual(
    copies.map((ids) => keepCopy(wanted, wanted, topic, ids)),
    [true, false],
  );
  // one copy carrying both identifiers (a broker that merges them): kept
  assert.equal(keepCopy(wanted, wanted, topic, copies.flat()), true);
});

test('a session from before the cover (the covered filter still subscribed): its copy is dropped, the covering one kept', () => {
  const topic = 'plant/user/temperature';
  assert.equal(keepCopy(FILTERS, COVER, topic, [subscriptionIdOf('plant/user/#')]), false);
  assert.equal(keepCopy(FILTERS, COVER, topic, [subscriptionIdOf('+/user/#')]), true);
});

test('a topic one filter matches, a copy without identifiers, or one from filters since removed: kept', () => {
  assert.equal(keepCopy(FILTERS, COVER, 'plant/data', [subscriptionIdOf('plant/data')]), true);
  assert.equal(keepCopy(FILTERS, COVER, 'plant/user/x', []), true);
  assert.equal(keepCopy(FILTERS, COVER, 'plant/user/x', [subscriptionIdOf('old/filter/#')]), true);
});
