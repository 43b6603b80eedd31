/**
 * Loaded into a daemon under bench with `--require` (node-status.mjs gives it to every daemon of
 * every arm alike): on SIGUSR2 it writes the process's own memory figures — V8's heap (committed,
 * physically resident, used), external and ArrayBuffer memory, and each heap space's resident
 * size — to the file named by EDGECORE_BENCH_PROBE. The bench reads them beside /proc's figures,
 * to tell V8's heap from malloc. Nothing else: no timer, no work between signals. When the file
 * `<that name>.gc` exists and the daemon runs with --expose-gc (the bench's LIVE=1, after its
 * window), it collects garbage first and adds `live`: the heap's live size.
 */
'use strict';
const { existsSync, writeFileSync } = require('node:fs');
const v8 = require('node:v8');

const out = process.env.EDGECORE_BENCH_PROBE;
if (out) {
  process.on('SIGUSR2', () => {
    const collect = typeof global.gc === 'function' && existsSync(`${out}.gc`);
    if (collect) global.gc();
    const h = v8.getHeapStatistics();
    const m = process.memoryUsage();
    const spaces = {};
    for (const s of v8.getHeapSpaceStatistics()) spaces[s.space_name] = { physical: s.physical_space_size, used: s.space_used_size };
    writeFileSync(out, JSON.stringify({ heapTotal: h.total_heap_size, heapPhysical: h.total_physical_size, heapUsed: h.used_heap_size, external: m.external, arrayBuffers: m.arrayBuffers, mallocedMemory: h.malloced_memory, spaces, ...(collect ? { live: h.used_heap_size } : {}) }));
  });
}
