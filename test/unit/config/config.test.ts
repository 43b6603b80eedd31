import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { defaultConfigYaml, loadConfigFile, parseConfig, parseConfigText } from '../../../src/config/load.js';
import { isConfigError, type ConfigError } from '../../../src/core/errors.js';
import { tmpDir } from '../../helpers/tmp.js';

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

test('file errors read as sentences: missing, unreadable, YAML syntax (no dangling excerpt), alias bomb — each naming the file', (t) => {
  const dir = tmpDir(t);
  const refused = (file: string): ConfigError => {
    try {
      loadConfigFile(file);
    } catch (e) {
      assert.ok(isConfigError(e), `expected ConfigError, got ${String(e)}`);
      return e;
    }
    assert.fail(`${file} was accepted`);
  };
  assert.equal(refused(join(dir, 'nope.yaml')).message, `config file ${join(dir, 'nope.yaml')} not found`);
  mkdirSync(join(dir, 'adir'));
  assert.equal(refused(join(dir, 'adir')).message, `config file ${join(dir, 'adir')} cannot be read: it is a directory`);
  if (process.getuid?.() !== 0) {
    writeFileSync(join(dir, 'secret.yaml'), '{}');
    chmodSync(join(dir, 'secret.yaml'), 0);
    assert.match(refused(join(dir, 'secret.yaml')).message, /cannot be read: permission denied$/);
  }

  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'node:\n  name: x\nmodules:\n  edged: {\n    a: 1\n\n\n\nfoo: [\n');
  const syntax = refused(bad).message;
  assert.match(syntax, new RegExp(`^config ${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is invalid: line \\d+, column \\d+: \\S`));
  assert.doesNotMatch(syntax, / at line \d+, column \d+:?$/, 'no dangling "at line, column:" fragment');
  assert.doesNotMatch(syntax, /\n/, 'one line, no source excerpt');

  const bomb = join(dir, 'bomb.yaml');
  const rows = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
  for (const [prev, name] of [['a', 'b'], ['b', 'c'], ['c', 'd'], ['d', 'e'], ['e', 'f'], ['f', 'g']]) rows.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
  writeFileSync(bomb, rows.join('\n') + '\n');
  const e = refused(bomb);
  assert.match(e.message, new RegExp(`^config ${bomb.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is invalid: \\(yaml\\): too many alias expansions`));
});

test('--defaults output is itself a valid config equal to the defaults', () => {
  const text = defaultConfigYaml();
  assert.deepEqual(parseConfig(parse(text)), parseConfig({}));
});

test('edgehub.relay.urls: more broker members, each an MQTT URL (the field and index named)', () => {
  const c = parseConfig({ modules: { edgehub: { relay: { url: 'mqtts://a:8883', urls: ['mqtts://b:8883', 'wss://c/mqtt'] } } } });
  assert.deepEqual(c.modules.edgehub.relay.urls, ['mqtts://b:8883', 'wss://c/mqtt']);
  assert.deepEqual(parseConfigText('').modules.edgehub.relay.urls, []);
  const issues = issuesOf(() => parseConfig({ modules: { edgehub: { relay: { urls: ['mqtts://b:8883', 'http://c'] } } } }));
  assert.deepEqual(issues.map((i) => i.path), ['modules.edgehub.relay.urls[1]']);
  assert.match(issues[0]!.reason, /mqtt:\/\/, mqtts:\/\/, ws:\/\/ or wss:\/\//);
});
