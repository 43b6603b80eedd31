/**
 * Who holds a TCP port, for diagnostics (`edgecore check`): the listening sockets in
 * /proc/net/tcp{,6}, matched to a process through its /proc/<pid>/fd links. Best effort: another
 * user's processes are invisible without root, and other systems have no /proc (undefined then).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

export interface PortHolder {
  pid: number;
  /** its command line, arguments joined by spaces (truncated) */
  command: string;
}

const LISTEN = '0A';

/** Inodes of the sockets listening on `port` in a /proc/net/tcp or tcp6 table (pure). */
export function listeningInodes(table: string, port: number): string[] {
  const out: string[] = [];
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[3] !== LISTEN) continue;
    const hexPort = f[1]!.split(':').pop()!;
    if (parseInt(hexPort, 16) === port) out.push(f[9]!);
  }
  return out;
}

const read = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};

/** The process that listens on `port` (any address), when it can be seen. */
export function findPortHolder(port: number, proc = '/proc'): PortHolder | undefined {
  const inodes = new Set(['tcp', 'tcp6'].flatMap((t) => listeningInodes(read(join(proc, 'net', t)) ?? '', port)));
  if (inodes.size === 0) return undefined;
  let pids: string[];
  try {
    pids = readdirSync(proc).filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(join(proc, pid, 'fd'));
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(join(proc, pid, 'fd', fd));
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m && inodes.has(m[1]!)) {
        const command = (read(join(proc, pid, 'cmdline')) ?? '').split('\0').filter(Boolean).join(' ').slice(0, 120);
        return { pid: Number(pid), command };
      }
    }
  }
  return undefined;
}

/** A process's start time in clock ticks since boot (/proc/<pid>/stat field 22): with the pid, an identity that survives pid reuse. */
export function processStartTime(pid: number, proc = '/proc'): string | undefined {
  const stat = read(join(proc, String(pid), 'stat'));
  if (!stat) return undefined;
  // the command name (field 2) may hold spaces and parentheses: fields 3.. follow the last ')'
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return rest[19];
}
