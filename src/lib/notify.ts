/**
 * systemd notifications (READY=1, WATCHDOG=1, STOPPING=1, STATUS=...).
 *
 * Node's dgram has no AF_UNIX datagram sockets, so we use the `systemd-notify` tool with an
 * explicit `--pid` (the unit sets NotifyAccess=all): it ships with systemd on every Raspberry
 * Pi OS/Debian release, needs no native addon to cross-compile, and `--pid` makes systemd
 * attribute the message to the daemon even though a child sends it.
 * Without NOTIFY_SOCKET (not under systemd, or Type=simple) every call is a no-op.
 */
import { execFile } from 'node:child_process';

export interface Notifier {
  readonly active: boolean;
  /** microseconds between required watchdog pings, when the unit sets WatchdogSec */
  readonly watchdogUsec: number;
  notify(state: string): Promise<void>;
}

export function systemdNotifier(env: NodeJS.ProcessEnv = process.env, pid = process.pid): Notifier {
  const socket = env.NOTIFY_SOCKET;
  const wdPid = env.WATCHDOG_PID ? Number(env.WATCHDOG_PID) : pid;
  const watchdogUsec = env.WATCHDOG_USEC && wdPid === pid ? Number(env.WATCHDOG_USEC) : 0;
  return {
    active: Boolean(socket),
    watchdogUsec,
    notify: (state) =>
      new Promise((resolve) => {
        if (!socket) return resolve();
        execFile('systemd-notify', [`--pid=${pid}`, ...state.split('\n')], { env }, () => resolve());
      }),
  };
}
