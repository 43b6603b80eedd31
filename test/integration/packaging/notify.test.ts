/**
 * src/lib/notify.ts with the real `systemd-notify` against a stand-in for the service manager's
 * notify socket (an AF_UNIX datagram socket bound by a small python3 receiver, which also closes
 * the barrier fds the tool sends, as systemd does). Checks what systemd would receive.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { notifyArgs, systemdNotifier } from '../../../src/lib/notify.js';
import { tmpDir } from '../../helpers/tmp.js';
import { needTools } from './helpers.js';

const RECEIVER = `
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print('listening', flush=True)
while True:
    msg, fds, _, _ = socket.recv_fds(s, 65536, 16)
    for fd in fds:
        os.close(fd)
    print(msg.decode().replace('\\n', ' '), flush=True)
`;

function startManager(path: string) {
  const child = spawn('python3', ['-c', RECEIVER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let buf = '';
  const waiters: (() => void)[] = [];
  child.stdout.on('data', (d) => {
    buf += d;
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
    waiters.splice(0).forEach((w) => w());
  });
  const waitFor = async (pred: (l: string) => boolean): Promise<string> => {
    for (;;) {
      const hit = lines.find(pred);
      if (hit) return hit;
      if (child.exitCode !== null) throw new Error('receiver exited');
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  return { child, lines, waitFor };
}

describe('packaging: sd_notify through systemd-notify --pid', () => {
  test('watchdog pings repeat READY=1 once it was sent', () => {
    assert.deepEqual(notifyArgs('WATCHDOG=1', 7, false), ['--pid=7', 'WATCHDOG=1']);
    assert.deepEqual(notifyArgs('WATCHDOG=1', 7, true), ['--pid=7', 'WATCHDOG=1', 'READY=1']);
    assert.deepEqual(notifyArgs('READY=1\nSTATUS=running', 7, false), ['--pid=7', 'READY=1', 'STATUS=running']);
  });

  test('the manager receives READY with MAINPID of the daemon, then watchdog pings', async (t) => {
    if (!(await needTools(t, ['systemd-notify', 'python3']))) return;
    const dir = tmpDir(t, 'edgecore-pkg-notify-');
    const sock = join(dir, 'notify.sock');
    const m = startManager(sock);
    t.after(() => m.child.kill());
    await m.waitFor((l) => l === 'listening');

    const pid = process.pid;
    const env = { PATH: process.env.PATH, NOTIFY_SOCKET: sock, WATCHDOG_USEC: '20000000', WATCHDOG_PID: String(pid) };
    const n = systemdNotifier(env, pid);
    assert.equal(n.active, true);
    assert.equal(n.watchdogUsec, 20_000_000);

    await n.notify('READY=1\nSTATUS=running');
    const ready = await m.waitFor((l) => l.includes('READY=1'));
    assert.match(ready, /STATUS=running/);
    assert.match(ready, new RegExp(`MAINPID=${pid}\\b`));
    assert.ok(m.lines.some((l) => l.includes('BARRIER=1')), 'systemd-notify waited for the manager (barrier)');

    await n.notify('WATCHDOG=1');
    const ping = await m.waitFor((l) => l.includes('WATCHDOG=1'));
    assert.match(ping, /READY=1/);
  });

  test('no NOTIFY_SOCKET: inactive, nothing spawned; a missing tool does not throw', async () => {
    const off = systemdNotifier({ PATH: process.env.PATH }, 1234);
    assert.equal(off.active, false);
    assert.equal(off.watchdogUsec, 0);
    await off.notify('READY=1');
    const broken = systemdNotifier({ NOTIFY_SOCKET: '/nonexistent/sock' }, 1234, 'edgecore-no-such-notify-tool');
    await broken.notify('READY=1');
  });
});
