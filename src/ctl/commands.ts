/**
 * edgectl's commands: only what kubectl cannot do. Each returns an exit code; output goes through
 * `io` (results on stdout, errors on stderr).
 *   token create      a bootstrap token for `edgecore join` (/edge/v1/tokens)
 *   twin get|set      a Device's twins in one line, over the Kubernetes API (set edits
 *                     spec.properties[].desired: it reaches the node, offline ones when they return)
 *   telemetry         device samples a node sent (/edge/v1/telemetry)
 */
import { stringify } from 'yaml';
import type { TelemetryRow, TokenCreated } from '../contract/api.js';
import { EDGE_PATHS } from '../contract/join.js';
import { isValidationError } from '../core/errors.js';
import { ApiError, type RelayClient } from './client.js';
import { parseAssignments, twinRows, withDesired } from './twin.js';

export interface Io {
  out(s: string): void;
  err(s: string): void;
  now(): Date;
}

export class UsageError extends Error {}

const enc = encodeURIComponent;

export function describeError(e: unknown): string {
  if (isValidationError(e)) return e.message;
  // a Kubernetes Status names every field in its message already; a /edge/v1 error lists them apart
  if (e instanceof ApiError && e.issues.length && !e.message.includes(e.issues[0]!.path)) return `${e.message}\n${e.issues.map((i) => `  ${i.path}: ${i.reason}`).join('\n')}`;
  return e instanceof Error ? e.message : String(e);
}

/** kubectl-aligned columns. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('');
  return [line(headers), ...rows.map(line)].map((l) => l.trimEnd()).join('\n') + '\n';
}

function emit(io: Io, output: string | undefined, value: unknown): boolean {
  if (output === 'json') io.out(JSON.stringify(value, null, 2) + '\n');
  else if (output === 'yaml') io.out(stringify(value));
  else if (output !== undefined && output !== 'table') throw new UsageError(`unknown output format "${output}" (json, yaml)`);
  else return false;
  return true;
}

const devicePath = (ns: string, name: string): string => `/apis/devices.kubeedge.io/v1beta1/namespaces/${enc(ns)}/devices/${enc(name)}`;

interface Device {
  metadata: { name: string; resourceVersion?: string };
  spec?: unknown;
  status?: { state?: string };
}

export async function twin(c: RelayClient, io: Io, args: string[], o: { namespace?: string; output?: string }): Promise<number> {
  const [op, name, ...pairs] = args;
  if ((op !== 'get' && op !== 'set') || !name) throw new UsageError('usage: twin get DEVICE | twin set DEVICE PROP=VALUE...');
  const ns = o.namespace ?? 'default';
  if (op === 'set') {
    const values = parseAssignments(pairs);
    // a merge patch of the desired values, on the version read (a concurrent edit is read again)
    for (let attempt = 0; ; attempt++) {
      const d = await c.json<Device>('GET', devicePath(ns, name));
      const patch = { metadata: { resourceVersion: d.metadata.resourceVersion }, spec: { properties: withDesired(d, values) } };
      try {
        await c.json('PATCH', `${devicePath(ns, name)}?fieldManager=edgectl`, patch, 'application/merge-patch+json');
        break;
      } catch (e) {
        if (!(e instanceof ApiError) || e.status !== 409 || attempt >= 4) throw e;
      }
    }
    io.out(`device/${name} configured\n`);
    return 0;
  }
  const d = await c.json<Device>('GET', devicePath(ns, name));
  const rows = twinRows(d);
  if (emit(io, o.output, { device: name, state: d.status?.state ?? 'unknown', twins: rows })) return 0;
  io.out(`device ${name} (${d.status?.state ?? 'unknown'})\n`);
  io.out(table(['PROPERTY', 'DESIRED', 'REPORTED', 'OBSERVED-DESIRED'], rows.map((r) => [r.property, r.desired, r.reported, r.observed])));
  return 0;
}

export async function token(c: RelayClient, io: Io, args: string[], ttl: string | undefined): Promise<number> {
  if (args[0] !== 'create' || args.length > 1) throw new UsageError('usage: token create [--ttl SECONDS]');
  if (ttl !== undefined && !/^\d+$/.test(ttl)) throw new UsageError('--ttl must be a number of seconds');
  const r = await c.json<TokenCreated>('POST', EDGE_PATHS.tokens, ttl ? { ttlSeconds: Number(ttl) } : {});
  io.out(`${r.joinCommand ?? r.token}\n`);
  io.err(`expires ${r.expiresAt}\n`);
  return 0;
}

export async function telemetry(c: RelayClient, io: Io, args: string[], o: { limit?: string; output?: string }): Promise<number> {
  if (args.length > 1) throw new UsageError('usage: telemetry [NODE] [--limit N]');
  if (o.limit !== undefined && !/^\d+$/.test(o.limit)) throw new UsageError('--limit must be a number');
  const q = new URLSearchParams({ limit: o.limit ?? '100', ...(args[0] ? { node: args[0] } : {}) });
  const rows = await c.json<TelemetryRow[]>('GET', `/edge/v1/telemetry?${q.toString()}`);
  if (emit(io, o.output, rows)) return 0;
  io.out(
    table(
      ['TIME', 'NODE', 'OBJECT', 'EVENT', 'DATA'],
      rows.map((r) => [new Date(r.timestamp).toISOString(), r.node, `${r.kind.toLowerCase()}/${r.namespace ? `${r.namespace}/` : ''}${r.name}`, r.event, JSON.stringify(r.data)]),
    ),
  );
  return 0;
}
