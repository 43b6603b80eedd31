/**
 * $(VAR) expansion and env order, checked against the behaviour Kubernetes' own expansion tests
 * pin down (third_party/forked/golang/expansion in kubernetes/kubernetes): the same inputs and
 * expected outputs, in a table of our own.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expand, expandAll, finalEnv, needsPodIP, type EnvSource } from '../../../src/modules/edged/env.js';

const CONTEXT: Record<string, string> = { VAR_A: 'A', VAR_B: 'B', VAR_C: 'C', VAR_REF: '$(VAR_A)', VAR_EMPTY: '' };
const lookup = (n: string): string | undefined => CONTEXT[n];

test("Kubernetes' expansion cases", () => {
  const cases: [string, string][] = [
    ['$(VAR_A)', 'A'],
    ['$(VAR_A)-$(VAR_A)', 'A-A'],
    ['$(VAR_A)-1', 'A-1'],
    ['___$(VAR_B)___', '___B___'],
    ['___$(VAR_C)', '___C'],
    ['$(VAR_A)_$(VAR_B)_$(VAR_C)', 'A_B_C'],
    ['$$(VAR_B)_$(VAR_A)', '$(VAR_B)_A'],
    ['$$(VAR_A)_$$(VAR_B)', '$(VAR_A)_$(VAR_B)'],
    ['f000-$$VAR_A', 'f000-$VAR_A'],
    ['foo\\$(VAR_C)bar', 'foo\\Cbar'],
    ['foo\\\\$(VAR_C)bar', 'foo\\\\Cbar'],
    ['foo\\\\\\\\$(VAR_A)bar', 'foo\\\\\\\\Abar'],
    ['$(VAR_A$(VAR_B))', '$(VAR_A$(VAR_B))'],
    ['$(VAR_A$(VAR_B)', '$(VAR_A$(VAR_B)'],
    ['$(VAR_REF)', '$(VAR_A)'],
    ['%%$(VAR_REF)--$(VAR_REF)%%', '%%$(VAR_A)--$(VAR_A)%%'],
    ['foo$(VAR_EMPTY)bar', 'foobar'],
    ['foo$(VAR_Awhoops!', 'foo$(VAR_Awhoops!'],
    ['f00__(VAR_A)__', 'f00__(VAR_A)__'],
    ['$?_boo_$!', '$?_boo_$!'],
    ['$VAR_A', '$VAR_A'],
    ['$(VAR_DNE)', '$(VAR_DNE)'],
    ['$$$$$$(BIG_MONEY)', '$$$(BIG_MONEY)'],
    ['$$$$$$(VAR_A)', '$$$(VAR_A)'],
    ['$$$$$$$(GOOD_ODDS)', '$$$$(GOOD_ODDS)'],
    ['$$$$$$$(VAR_A)', '$$$A'],
    ['$VAR_A)', '$VAR_A)'],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Kubernetes' case: shell syntax is not expanded
    ['${VAR_A}', '${VAR_A}'],
    ['$(VAR_B)_______$(A', 'B_______$(A'],
    ['$(VAR_C)_______$(', 'C_______$('],
    ['$(VAR_A)foobarzab$', 'Afoobarzab$'],
    ['foo-\\$(VAR_A', 'foo-\\$(VAR_A'],
    ['--$($($($($--', '--$($($($($--'],
    ['$($($($($--foo$(', '$($($($($--foo$('],
    ['foo0--$($($($(', 'foo0--$($($($('],
    ['$(foo$$var)', '$(foo$$var)'],
    ['\n', '\n'],
  ];
  const wrong = cases.filter(([input, want]) => expand(input, lookup) !== want).map(([input, want]) => `${JSON.stringify(input)}: want ${JSON.stringify(want)}, got ${JSON.stringify(expand(input, lookup))}`);
  assert.deepEqual(wrong, []);
});

test('env values see only the variables defined before them, in order; dependent variables chain', () => {
  const sources: EnvSource[] = [
    { name: 'FOO', value: 'bar', expand: true },
    { name: 'ZOO', value: '$(FOO)-1', expand: true },
    { name: 'BLU', value: '$(ZOO)-2', expand: true },
    { name: 'EARLY', value: '$(LATE)', expand: true },
    { name: 'LATE', value: 'late', expand: true },
  ];
  assert.deepEqual(Object.fromEntries(finalEnv(sources, {})), { FOO: 'bar', ZOO: 'bar-1', BLU: 'bar-1-2', EARLY: '$(LATE)', LATE: 'late' });
});

test('values from ConfigMaps, Secrets and the Downward API are used as they are; envFrom comes first and env overrides it', () => {
  const sources: EnvSource[] = [
    { name: 'SPECIAL_LEVEL_KEY', value: 'very', expand: false },
    { name: 'RAW', value: '$(SPECIAL_LEVEL_KEY)', expand: false },
    { name: 'SPECIAL_LEVEL_KEY', value: 'very!', expand: true },
    { name: 'MSG', value: '$(SPECIAL_LEVEL_KEY) charm', expand: true },
  ];
  const env = finalEnv(sources, {});
  assert.deepEqual(Object.fromEntries(env), { SPECIAL_LEVEL_KEY: 'very!', RAW: '$(SPECIAL_LEVEL_KEY)', MSG: 'very! charm' });
  assert.deepEqual([...env.keys()], ['SPECIAL_LEVEL_KEY', 'RAW', 'MSG'], 'a redefined name keeps its place');
});

test('the pod and host IPs are filled in at create time and usable in later values and in args', () => {
  const sources: EnvSource[] = [
    { name: 'MY_POD_IP', field: 'status.podIP' },
    { name: 'MY_HOST_IP', field: 'status.hostIPs' },
    { name: 'URL', value: 'http://$(MY_POD_IP):8080', expand: true },
  ];
  assert.equal(needsPodIP(sources), true);
  assert.equal(needsPodIP(sources.slice(1)), false);
  const env = finalEnv(sources, { podIP: '10.0.0.7', hostIP: '192.0.2.1' });
  assert.deepEqual(Object.fromEntries(env), { MY_POD_IP: '10.0.0.7', MY_HOST_IP: '192.0.2.1', URL: 'http://10.0.0.7:8080' });
  assert.deepEqual(expandAll(['sh', '-c', 'echo $(URL) $$(URL) $(NOPE)'], env), ['sh', '-c', 'echo http://10.0.0.7:8080 $(URL) $(NOPE)']);
  assert.equal(expandAll(undefined, env), undefined);
});
