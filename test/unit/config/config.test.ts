import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import { defaultConfigYaml, parseConfig, parseConfigText } from '../../../src/config/load.js';
import { isConfigError, type ConfigError } from '../../../src/core/errors.js';

function issuesOf(fn: () => unknown): { path: string; reason: string }[] {
  try {
    fn();
  } catch (e) {
    assert.ok(isConfigError(e), `expected ConfigError, got ${String(e)}`);
    return (e as ConfigError).issues;
  }
  assert.fail('expected the config to be refused');
}

test('an empty file is a complete config with defaults', () => {
  const c = parseConfigText('');
  assert.equal(c.dataDir, '/var/lib/edgecore');
  assert.equal(c.paths.dockerSocket, '/var/run/docker.sock');
  assert.equal(c.modules.edged.enabled, true);
  assert.equal(c.modules.edgehub.enabled, false);
  assert.equal(c.modules.metamanager.restart.maxMs, 60_000);
});

test('unknown keys are refused with their full path, at every depth', () => {
  const issues = issuesOf(() => parseConfigText('dataDri: /x\nmodules:\n  edged:\n    enabeld: false\n'));
  assert.deepEqual(
    issues.map((i) => i.path).sort(),
    ['dataDri', 'modules.edged.enabeld'],
  );
  assert.ok(issues.every((i) => i.reason === 'unknown field'));
});

test('wrong types and ranges name the field and the reason', () => {
  const issues = issuesOf(() => parseConfig({ shutdownTimeoutSeconds: 0, modules: { eventbus: { port: 'x' } }, node: { name: 'Bad Name' } }));
  const byPath = new Map(issues.map((i) => [i.path, i.reason]));
  assert.match(byPath.get('shutdownTimeoutSeconds') ?? '', />=\s*1|too small/i);
  assert.match(byPath.get('modules.eventbus.port') ?? '', /number/);
  assert.match(byPath.get('node.name') ?? '', /DNS label/);
});

test('YAML syntax errors name the line', () => {
  const issues = issuesOf(() => parseConfigText('node:\n  name: [unclosed\n'));
  assert.match(issues[0]!.path, /line \d+/);
});

test('--defaults output is itself a valid config equal to the defaults', () => {
  const text = defaultConfigYaml();
  assert.deepEqual(parseConfig(parse(text)), parseConfig({}));
});
