/**
 * Facts about the Node runtime the daemon runs on that change how it must be started.
 *
 * io_uring: libuv 1.45 (Node 20.3.0 to 20.11.0, 21.0.0 to 21.6.1) runs async file reads through
 * io_uring by default. A read on a tty then waits in the kernel until a byte arrives, ignoring
 * O_NONBLOCK, and holds the file: closing the port does not release its lock, so an unplugged
 * serial device can never be reopened and the process cannot exit until a byte comes. Later
 * releases turned it off by default; `UV_USE_IO_URING=0` turns it off on the affected ones. libuv
 * reads the variable once, before any JavaScript runs, so it must be in the environment at start:
 * the artifact's launchers set it (scripts/build/artifact.mjs; the systemd unit runs the launcher).
 */

type Version = readonly [number, number, number];

function parse(v: string): Version | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

function cmp(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** the Node releases whose libuv uses io_uring for file I/O unless told not to: [from, until) */
const IO_URING_DEFAULT_ON: ReadonlyArray<readonly [Version, Version]> = [
  [[20, 3, 0], [20, 11, 1]],
  [[21, 0, 0], [21, 6, 2]],
];

/** Whether this Node, started with this environment, reads serial ports through io_uring. */
export function ioUringReadsTtys(nodeVersion: string, env: Record<string, string | undefined>): boolean {
  const v = parse(nodeVersion);
  if (!v || cmp(v, [20, 3, 0]) < 0) return false; // older libuv has no io_uring at all
  const set = env.UV_USE_IO_URING;
  // libuv's own reading of the variable: atoi(value) != 0 means on
  if (set !== undefined) return (Number.parseInt(set.trim(), 10) || 0) !== 0;
  return IO_URING_DEFAULT_ON.some(([from, until]) => cmp(v, from) >= 0 && cmp(v, until) < 0);
}

/** What is wrong with this runtime for serial ports, and the fix; undefined when nothing is. */
export function ioUringProblem(nodeVersion: string, env: Record<string, string | undefined>): { detail: string; fix: string } | undefined {
  if (!ioUringReadsTtys(nodeVersion, env)) return undefined;
  return {
    detail: `node ${nodeVersion} reads through io_uring: a serial port whose device goes away can hang its reads and is never reopened`,
    fix: 'start it through the artifact launcher (the systemd unit does), or set UV_USE_IO_URING=0 in its environment',
  };
}
