import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type StaticItem, StaticPods } from '../../../src/modules/edged/static.js';
import { tmpDir } from '../../helpers/tmp.js';

const POD = 'apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: default}\nspec: {containers: [{name: main, image: busybox}]}\n';

test('static pods: a rescan of unchanged files hands nothing over and reports a bad file once per content; a failed handover is made again', async (t) => {
  const dir = tmpDir(t, 'edgecore-static-');
  const handed: StaticItem[][] = [];
  const errors: string[] = [];
  let failNext = false;
  const sp = new StaticPods(
    dir,
    async (items) => {
      if (failNext) {
        failNext = false;
        throw new Error('metamanager busy');
      }
      handed.push(items);
    },
    (file, e) => errors.push(`${file}: ${(e as Error).message}`),
  );
  writeFileSync(join(dir, 'web.yaml'), POD);
  await sp.scan();
  assert.deepEqual(handed.map((h) => h.map((i) => i.key.name)), [['web']]);
  await sp.scan();
  assert.equal(handed.length, 1, 'nothing changed: nothing handed over');

  writeFileSync(join(dir, 'bad.yaml'), 'kind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: 1}]}\n');
  await sp.scan();
  await sp.scan();
  assert.equal(errors.length, 1, `a bad file is reported once while its text stays: ${errors.join('; ')}`);
  assert.match(errors[0]!, /bad\.yaml: .*containers/);
  assert.equal(handed.length, 1, 'a refused file changes nothing');

  failNext = true;
  writeFileSync(join(dir, 'web.yaml'), POD.replace('name: web', 'name: web2'));
  await assert.rejects(sp.scan(), /metamanager busy/);
  await sp.scan();
  assert.deepEqual(handed.map((h) => h.map((i) => i.key.name)), [['web'], ['web2']], 'the set that failed to go over goes on the next scan');

  rmSync(join(dir, 'web.yaml'));
  rmSync(join(dir, 'bad.yaml'));
  await sp.scan();
  assert.deepEqual(handed.at(-1), [], 'files removed: their objects go');
  writeFileSync(join(dir, 'bad.yaml'), 'kind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: 1}]}\n');
  await sp.scan();
  assert.equal(errors.length, 2, 'a bad file that comes back is reported again');
});
