import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requirementHolds, termMatches } from '../../../../src/contract/kube/node-affinity.js';

test('each operator as Kubernetes evaluates it, on a present and an absent label', () => {
  const cases: [string, string[] | undefined, string | undefined, boolean][] = [
    ['In', ['a', 'b'], 'a', true],
    ['In', ['a', 'b'], 'c', false],
    ['In', ['a'], undefined, false],
    ['NotIn', ['a'], 'b', true],
    ['NotIn', ['a'], 'a', false],
    ['NotIn', ['a'], undefined, true],
    ['Exists', undefined, '', true],
    ['Exists', undefined, undefined, false],
    ['DoesNotExist', undefined, undefined, true],
    ['DoesNotExist', undefined, 'x', false],
    ['Gt', ['3'], '4', true],
    ['Gt', ['3'], '3', false],
    ['Lt', ['3'], '-1', true],
    ['Gt', ['3'], '4x', false], // not an integer: neither Gt nor Lt (strconv.ParseInt)
    ['Lt', ['3'], '1.5', false],
    ['Gt', ['3', '4'], '9', false], // Gt/Lt take exactly one value
    ['Gt', ['x'], '9', false],
    ['Gt', ['3'], undefined, false],
    ['Bogus', ['a'], 'a', false],
  ];
  for (const [operator, values, value, want] of cases) {
    assert.equal(requirementHolds({ key: 'k', operator, ...(values ? { values } : {}) }, value), want, `${operator} ${JSON.stringify(values)} on ${JSON.stringify(value)}`);
  }
});

test('a term: every expression and field holds; an empty term matches nothing; keys are own labels only', () => {
  const labels = { zone: 'a', tier: '2' };
  assert.equal(termMatches({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }, { key: 'tier', operator: 'Gt', values: ['1'] }] }, labels, 'n1'), true);
  assert.equal(termMatches({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }, { key: 'tier', operator: 'Gt', values: ['2'] }] }, labels, 'n1'), false);
  assert.equal(termMatches({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }, labels, 'n1'), true);
  assert.equal(termMatches({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }, labels, 'n2'), false);
  assert.equal(termMatches({ matchFields: [{ key: 'metadata.uid', operator: 'Exists' }] }, labels, 'n1'), false, 'only metadata.name is a field');
  assert.equal(termMatches({}, labels, 'n1'), false);
  assert.equal(termMatches({ matchExpressions: [], matchFields: [] }, labels, 'n1'), false);
  // an inherited property is not a label (a plain object's "constructor" must not Exist)
  assert.equal(termMatches({ matchExpressions: [{ key: 'constructor', operator: 'Exists' }] }, labels, 'n1'), false);
  assert.equal(termMatches({ matchExpressions: [{ key: 'constructor', operator: 'DoesNotExist' }] }, labels, 'n1'), true);
});
