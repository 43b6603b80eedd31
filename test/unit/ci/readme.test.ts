/** README's "What `npm test` needs" stays true to what CI installs (.ci/run, .ci/provision.d/*.sh). */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../../helpers/tmp.js';

/** The package names of every `apt-get ... install ...` command in a shell script (continuation lines joined). */
function aptPackages(script: string): string[] {
  const joined = script.replace(/\\\n/g, ' ');
  const out: string[] = [];
  for (const line of joined.split('\n')) {
    const m = /apt-get\b.*?\binstall\b(.*)$/.exec(line);
    if (!m) continue;
    for (const w of m[1]!.split(/\s+/)) {
      if (!w || w.startsWith('-') || w.startsWith('>') || w.startsWith('/') || w === '2>&1') continue;
      if (/^[a-z0-9][a-z0-9+.-]+$/.test(w)) out.push(w);
    }
  }
  return out;
}

test('apt package lists are read from the CI scripts (guards against a vacuous pass)', () => {
  const script = 'apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends ab b-c \\\n  d++ >/dev/null\necho not apt\n';
  assert.deepEqual(aptPackages(script), ['ab', 'b-c', 'd++']);
});

test("every package CI installs is named in README's npm test section", () => {
  const scripts = [join(ROOT, '.ci/run'), ...readdirSync(join(ROOT, '.ci/provision.d')).filter((f) => f.endsWith('.sh')).map((f) => join(ROOT, '.ci/provision.d', f))];
  const packages = [...new Set(scripts.flatMap((f) => aptPackages(readFileSync(f, 'utf8'))))].sort();
  assert.ok(packages.length > 20, `found ${packages.length}`);
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### What `npm test` needs'));
  assert.ok(section.length > 100, 'README has the section');
  const missing = packages.filter((p) => !section.includes(`\`${p}\``));
  assert.deepEqual(missing, [], 'packages CI installs that README does not name');
});
