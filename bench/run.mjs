#!/usr/bin/env node
/** `npm run bench [name-substring]`: run every bench script (or the matching ones), one after another (mesh-probe.mjs is mesh.mjs's helper, not a bench; footprint-ab.mjs compares variants given by hand). */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './lib.mjs';

const filter = process.argv[2];
const scripts = readdirSync(join(ROOT, 'bench'))
  .filter((f) => f.endsWith('.mjs') && !['lib.mjs', 'run.mjs', 'mesh-probe.mjs', 'footprint-ab.mjs'].includes(f))
  .filter((f) => !filter || f.includes(filter))
  .sort();
let failed = 0;
for (const s of scripts) {
  process.stderr.write(`# bench ${s}\n`);
  const r = spawnSync(process.execPath, [join(ROOT, 'bench', s)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
