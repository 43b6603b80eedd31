/**
 * Loaded into a relay under bench with `--require` (relay-scale.mjs with CPU_PROFILE=<dir>): V8's
 * sampling profiler runs from the process's start, and each SIGUSR2 writes what it recorded since
 * the previous one to `<dir>/<pid>-<n>.cpuprofile` (Chrome DevTools' format) and starts again.
 * The bench signals at each phase's start and end, so every phase has its own profile.
 */
'use strict';
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { Session } = require('node:inspector');

const dir = process.env.EDGECORE_BENCH_CPU_PROFILE;
if (dir) {
  const session = new Session();
  session.connect();
  let n = 0;
  const start = () => {
    session.post('Profiler.enable', () => session.post('Profiler.setSamplingInterval', { interval: 1000 }, () => session.post('Profiler.start')));
  };
  start();
  process.on('SIGUSR2', () => {
    session.post('Profiler.stop', (err, r) => {
      if (!err) writeFileSync(join(dir, `${process.pid}-${++n}.cpuprofile`), JSON.stringify(r.profile));
      start();
    });
  });
}
