import assert from 'node:assert/strict';
import { test } from 'node:test';
import { labelSelectorText, matchFields, matchLabels, parseFieldSelector, parseLabelSelector, SelectorError } from '../../../../src/contract/kube/selectors.js';

const sel = (s: string, labels: Record<string, string>): boolean => matchLabels(parseLabelSelector(s), labels);

test('label selectors: equality, inequality, sets, existence, all terms must hold', () => {
  const l = { app: 'web', tier: 'front', 'example.com/zone': 'a' };
  assert.ok(sel('', l));
  assert.ok(sel('app=web', l));
  assert.ok(sel('app==web,tier=front', l));
  assert.ok(!sel('app=web,tier=back', l));
  assert.ok(sel('app!=db', l));
  assert.ok(sel('missing!=x', l), '!= holds when the label is absent');
  assert.ok(sel('tier in (front, back)', l));
  assert.ok(!sel('tier notin (front)', l));
  assert.ok(sel('tier notin (back),app', l));
  assert.ok(sel('example.com/zone', l));
  assert.ok(sel('!missing', l));
  assert.ok(!sel('!app', l));
  assert.ok(sel('app in (web),example.com/zone in (a,b)', l));
});

test('label selectors: bad keys and values are refused with the requirement named', () => {
  for (const bad of ['app=we b', 'a b', 'app in ()', '=x', 'Bad_Prefix/x=1', 'app=' + 'x'.repeat(64), ',']) {
    assert.throws(() => parseLabelSelector(bad), SelectorError, bad);
  }
  assert.throws(() => parseLabelSelector('app=we$b'), /invalid label value "we\$b"/);
});

test('field selectors: =, ==, !=, escapes; every term must hold', () => {
  const f = parseFieldSelector('metadata.name=a\\,b,status.phase!=Failed,spec.nodeName==n1');
  assert.deepEqual(f, [
    { field: 'metadata.name', op: '=', value: 'a,b' },
    { field: 'status.phase', op: '!=', value: 'Failed' },
    { field: 'spec.nodeName', op: '=', value: 'n1' },
  ]);
  assert.ok(matchFields(f, { 'metadata.name': 'a,b', 'status.phase': 'Running', 'spec.nodeName': 'n1' }));
  assert.ok(!matchFields(f, { 'metadata.name': 'a,b', 'status.phase': 'Failed', 'spec.nodeName': 'n1' }));
  assert.ok(matchFields(parseFieldSelector('spec.nodeName='), { 'spec.nodeName': '' }), 'an empty value selects unset fields');
  assert.throws(() => parseFieldSelector('metadata.name'), SelectorError);
  assert.throws(() => parseFieldSelector('a=b=c'), SelectorError);
  assert.throws(() => parseFieldSelector('a=\\q'), /escape/);
});

test('a LabelSelector object renders as the selector text', () => {
  const text = labelSelectorText({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }, { key: 'x', operator: 'DoesNotExist' }] });
  assert.equal(text, 'app=web,tier in (a,b),!x');
  assert.ok(sel(text, { app: 'web', tier: 'b' }));
});
