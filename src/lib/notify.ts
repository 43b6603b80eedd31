/**
 * systemd notifications (READY=1, WATCHDOG=1, STOPPING=1, STATUS=...).
 *
 * Node's dgram has no AF_UNIX datagram sockets, so we use the `systemd-notify` tool with an
 * explicit `--pid` (the unit sets NotifyAccess=all): it ships with systemd on every Raspberry
 * Pi OS/Debian release and needs no native addon to cross-compile. `--pid` adds MAINPID=<the
 * daemon>, so the daemon stays the unit's main process although a child sends the message.
 * Since systemd 246 the tool also waits (a notify barrier) until the manager has read the
 * message, which closes the old race where a short-lived sender exited before the manager
 * could map it to the unit. Rationale and alternatives: docs/packaging.md.
 * Without NOTIFY_SOCKET (not under systemd, or Type=simple) every call is a no-op.
 */
import { execFile } from 'node:child_process';

export interface Notifier {
  readonly active: boolean;
  /** microseconds between required watchdog pings, when the unit sets WatchdogSec */
  readonly watchdogUsec: number;
  notify(state: string): Promise<void>;
}

/** Assignments for one message: once READY=1 was sent, watchdog pings repeat it (see below). */
export function notifyArgs(state: string, pid: number, readySent: boolean): string[] {
  const lines = state.split('\n').filter(Boolean);
  if (readySent && lines.includes('WATCHDOG=1') && !lines.includes('READY=1')) lines.push('READY=1');
  return [`--pid=${pid}`, ...lines];
}

export function systemdNotifier(env: NodeJS.ProcessEnv = process.env, pid = process.pid, command = 'systemd-notify'): Notifier {
  const socket = env.NOTIFY_SOCKET;
  const wdPid = env.WATCHDOG_PID ? Number(env.WATCHDOG_PID) : pid;
  const watchdogUsec = env.WATCHDOG_USEC && wdPid === pid ? Number(env.WATCHDOG_USEC) : 0;
  // A READY=1 lost on the way (the helper could not be spawned, the manager was busy) would
  // leave the unit "activating" until TimeoutStartSec; repeating it with each watchdog ping is
  // harmless (the manager ignores READY=1 once the unit runs) and heals that.
  let readySent = false;
  let warned = false;
  return {
    active: Boolean(socket),
    watchdogUsec,
    notify: (state) =>
      new Promise((resolve) => {
        if (!socket) return resolve();
        const args = notifyArgs(state, pid, readySent);
        if (args.includes('READY=1')) readySent = true;
        if (args.includes('STOPPING=1')) readySent = false;
        // systemd-notify waits for the manager to have processed the message (a barrier), so
        // bound it: a stuck manager must not pile up helper processes.
        execFile(command, args, { env, timeout: 10_000 }, (err) => {
          if (err && !warned) {
            warned = true;
            process.stderr.write(`edgecore: ${command} failed (${err.message.split('\n')[0]}); systemd will not see READY/WATCHDOG\n`);
          }
          resolve();
        });
      }),
  };
}
