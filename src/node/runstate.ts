/**
 * The running node's own record, `<dataDir>/edgecore.run.json`: its pid (with the process start
 * time, so a reused pid is not mistaken for it), version and the ports it is configured to hold.
 * Written by `edgecore run` once the data dir exists, removed when it stops; a crash leaves a
 * record whose process is gone, which readers ignore. `edgecore check` reads it to tell "this
 * port is held by this node" from "held by something else".
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EdgecoreConfig } from '../config/schema.js';
import { processStartTime } from '../lib/ports.js';

export interface Listener {
  /** what listens there, e.g. "eventbus broker" */
  name: string;
  host: string;
  port: number;
}

export interface NodeRunState {
  pid: number;
  startTime?: string;
  version: string;
  listening: Listener[];
}

export const runStateFile = (dataDir: string): string => join(dataDir, 'edgecore.run.json');

/** The fixed ports a node with this config listens on (port 0 = any free port: nothing to hold). */
export function nodeListeners(config: EdgecoreConfig): Listener[] {
  const out: Listener[] = [];
  const eb = config.modules.eventbus;
  if (eb.enabled && eb.mode === 'embedded' && eb.port !== 0) out.push({ name: 'eventbus broker', host: eb.host, port: eb.port });
  const mm = config.modules.metamanager;
  if (mm.enabled && mm.api.enabled && mm.api.port !== 0) {
    out.push({ name: 'MetaServer', host: mm.api.host, port: mm.api.port });
    if (mm.api.podNetworkAddress) out.push({ name: 'MetaServer (pod network)', host: mm.api.podNetworkAddress, port: mm.api.port });
  }
  if (config.ops.enabled && config.ops.port !== 0) out.push({ name: 'ops endpoint', host: config.ops.host, port: config.ops.port });
  return out;
}

export function writeRunState(dataDir: string, state: NodeRunState): void {
  const file = runStateFile(dataDir);
  const tmp = `${file}.tmp-${state.pid}`;
  writeFileSync(tmp, JSON.stringify(state) + '\n', { mode: 0o600 });
  renameSync(tmp, file);
}

/** Remove the record if it is this process's (a newer node's record stays). */
export function removeRunState(dataDir: string, pid: number): void {
  if (readRunState(dataDir)?.pid === pid) rmSync(runStateFile(dataDir), { force: true });
}

function readRunState(dataDir: string): NodeRunState | undefined {
  try {
    const v = JSON.parse(readFileSync(runStateFile(dataDir), 'utf8')) as Partial<NodeRunState>;
    if (typeof v.pid !== 'number' || !Array.isArray(v.listening)) return undefined;
    return { pid: v.pid, startTime: v.startTime, version: String(v.version ?? ''), listening: v.listening };
  } catch {
    return undefined;
  }
}

/** The node running with this data dir, if its record names a live process (same pid and start time). */
export function readRunningNode(dataDir: string, proc = '/proc'): NodeRunState | undefined {
  const s = readRunState(dataDir);
  if (!s) return undefined;
  try {
    process.kill(s.pid, 0);
  } catch (e) {
    // EPERM: alive but another user's
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  const now = processStartTime(s.pid, proc);
  if (s.startTime && now && s.startTime !== now) return undefined;
  return s;
}
