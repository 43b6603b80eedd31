/**
 * The HIL suite's one guest process (bundled on the host by hw-tests/build-suite.mjs into
 * hw-tests/.cache/build/suite.mjs: TypeScript is not compiled under emulation).
 *
 * Env: HIL_OUT (results folder), HIL_WIRING (a wiring file: real board instead of the simulator),
 * HIL_ONLY (regex of case names), HIL_PHASES (comma list: drivers,daemon; default both),
 * HIL_EDGECORE (path of the edgecore bundle to run).
 */
import { readFileSync } from 'node:fs';
import { arch, release } from 'node:os';
import { join } from 'node:path';
import { simBoard } from './board.js';
import { daemonCases } from './daemon-cases.js';
import { driverCases } from './drivers-cases.js';
import { Suite } from './harness.js';

const out = process.env.HIL_OUT ?? '.';
const phases = new Set((process.env.HIL_PHASES ?? 'drivers,daemon').split(','));
// the wiring reader (yaml, zod) loads only for a wired board: parsing is slow under emulation
const board = process.env.HIL_WIRING ? await (await import('./wired.js')).wiredBoard(process.env.HIL_WIRING) : await simBoard();
const suite = new Suite('edgecore-hil', process.env.HIL_ONLY);
const uptime = (): number => Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
const startedAtUptime = uptime();
process.stdout.write(`hil: board ${board.kind} ${JSON.stringify(board.describe)} (node ${process.version} ${arch()}, kernel ${release()})\n`);

if (phases.has('drivers')) await driverCases(suite, board);
let metrics: Record<string, unknown> = {};
if (phases.has('daemon')) metrics = await daemonCases(suite, board, { out, edgecore: process.env.HIL_EDGECORE });
await board.close();

const failed = suite.write(join(out, 'results.json'), {
  arch: arch(),
  node: process.version,
  kernel: release(),
  accel: process.env.HIL_ACCEL ?? 'tcg',
  board: { kind: board.kind, ...board.describe },
  guestUptimeAtStartS: startedAtUptime,
  metrics,
});
process.stdout.write(`hil: ${suite.results.length - failed} passed, ${failed} failed\n`);
process.exit(failed ? 1 : 0);
