/** edgectl's commands. Each returns an exit code; output goes through `io` (stdout/stderr). */
import { stringify } from 'yaml';
import type { ApplyResult, NodeView, ObjectView, TokenCreated } from '../contract/api.js';
import { describeWireError } from '../contract/errors.js';
import { resolveKind } from '../contract/resources/kinds.js';
import { EDGE_PATHS } from '../contract/join.js';
import { ApiError, type RelayClient } from './client.js';
import { readManifests } from './manifests.js';
import { fullObject, nodeRows, objectTable, type PrintOptions } from './printers.js';

export interface Io {
  out(s: string): void;
  err(s: string): void;
  stdin(): string;
  now(): Date;
}

export interface Common {
  namespace?: string;
  allNamespaces: boolean;
  output?: string;
  node?: string;
}

export class UsageError extends Error {}

const enc = encodeURIComponent;

export function describeError(e: unknown): string {
  if (e instanceof ApiError) return describeWireError(e);
  return e instanceof Error ? e.message : String(e);
}

function kindArg(arg: string | undefined): string {
  if (!arg) throw new UsageError('a resource type is required (nodes, pods, devices, devicemodels, configmaps, secrets)');
  if (['nodes', 'node', 'no'].includes(arg.toLowerCase())) return 'Node';
  const k = resolveKind(arg);
  if (!k) throw new UsageError(`unknown resource type "${arg}" (nodes, pods, devices, devicemodels, configmaps, secrets)`);
  return k;
}

const lower = (kind: string): string => kind.toLowerCase();

function withNamespace(obj: unknown, ns: string | undefined): unknown {
  if (!ns || !obj || typeof obj !== 'object') return obj;
  const o = obj as { metadata?: Record<string, unknown> };
  if (!o.metadata || typeof o.metadata !== 'object') return obj;
  if (o.metadata.namespace && o.metadata.namespace !== ns) {
    throw new Error(`the namespace from the object (${String(o.metadata.namespace)}) does not match the namespace given (${ns})`);
  }
  return { ...o, metadata: { ...o.metadata, namespace: ns } };
}

export async function apply(c: RelayClient, io: Io, files: string[], o: Common): Promise<number> {
  if (files.length === 0) throw new UsageError('apply needs -f FILE|DIR|-');
  let failed = false;
  for (const f of files) {
    let docs;
    try {
      docs = readManifests(f, io.stdin);
    } catch (e) {
      io.err(`error: ${describeError(e)}\n`);
      failed = true;
      continue;
    }
    for (const d of docs) {
      try {
        const r = await c.json<ApplyResult>('POST', '/edge/v1/apply', { object: withNamespace(d.object, o.namespace), ...(o.node ? { node: o.node } : {}) });
        io.out(`${lower(r.kind)}/${r.name} ${r.result}\n`);
      } catch (e) {
        if (e instanceof ApiError && e.status === 0) throw e;
        io.err(`error: ${d.source}: ${describeError(e)}\n`);
        failed = true;
      }
    }
  }
  return failed ? 1 : 0;
}

export async function deleteCmd(c: RelayClient, io: Io, args: string[], files: string[], o: Common): Promise<number> {
  const targets: { kind: string; namespace: string; name: string }[] = [];
  if (files.length) {
    for (const f of files) {
      for (const d of readManifests(f, io.stdin)) {
        const obj = d.object as { kind?: string; metadata?: { name?: string; namespace?: string } };
        const kind = obj?.kind ? resolveKind(obj.kind) : undefined;
        if (!kind || !obj.metadata?.name) throw new Error(`${d.source}: needs kind and metadata.name`);
        targets.push({ kind, namespace: obj.metadata.namespace ?? o.namespace ?? 'default', name: obj.metadata.name });
      }
    }
  } else {
    const kind = kindArg(args[0]);
    if (kind === 'Node') {
      if (!args[1]) throw new UsageError('delete node needs a NAME');
      await c.json('DELETE', `/edge/v1/nodes/${enc(args[1])}`);
      io.out(`node "${args[1]}" deleted\n`);
      return 0;
    }
    if (args.length < 2) throw new UsageError('delete needs KIND NAME... or -f FILE');
    for (const name of args.slice(1)) targets.push({ kind, namespace: o.namespace ?? 'default', name });
  }
  let failed = false;
  for (const t of targets) {
    try {
      await c.json('DELETE', `/edge/v1/objects/${t.kind}/${enc(t.namespace)}/${enc(t.name)}`);
      io.out(`${lower(t.kind)} "${t.name}" deleted\n`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 0) throw e;
      io.err(`error: ${describeError(e)}\n`);
      failed = true;
    }
  }
  return failed ? 1 : 0;
}

function printOpts(o: Common, io: Io): PrintOptions {
  if (o.output && !['wide', 'yaml', 'json', 'name'].includes(o.output)) throw new UsageError(`-o must be wide, yaml, json or name (got "${o.output}")`);
  return { wide: o.output === 'wide', allNamespaces: o.allNamespaces, now: io.now() };
}

function emitStructured(io: Io, format: string, value: unknown): void {
  io.out(format === 'json' ? JSON.stringify(value, null, 2) + '\n' : stringify(value));
}

export async function get(c: RelayClient, io: Io, args: string[], o: Common): Promise<number> {
  const kind = kindArg(args[0]);
  const name = args[1];
  const p = printOpts(o, io);
  if (kind === 'Node') {
    const nodes = name ? [await c.json<NodeView>('GET', `/edge/v1/nodes/${enc(name)}`)] : await c.json<NodeView[]>('GET', '/edge/v1/nodes');
    if (o.output === 'json' || o.output === 'yaml') emitStructured(io, o.output, name ? nodes[0] : { kind: 'List', items: nodes });
    else if (o.output === 'name') io.out(nodes.map((n) => `node/${n.name}\n`).join(''));
    else if (nodes.length === 0) io.err('No resources found\n');
    else io.out(nodeRows(nodes, p));
    return 0;
  }
  const ns = o.namespace ?? 'default';
  let objs: ObjectView[];
  if (name) objs = [await c.json<ObjectView>('GET', `/edge/v1/objects/${kind}/${enc(ns)}/${enc(name)}`)];
  else {
    const q = new URLSearchParams({ kind });
    if (!o.allNamespaces) q.set('namespace', ns);
    if (o.node) q.set('node', o.node);
    objs = await c.json<ObjectView[]>('GET', `/edge/v1/objects?${q.toString()}`);
  }
  if (o.output === 'json' || o.output === 'yaml') {
    emitStructured(io, o.output, name ? fullObject(objs[0]!) : { apiVersion: 'v1', kind: 'List', items: objs.map(fullObject) });
  } else if (o.output === 'name') io.out(objs.map((x) => `${lower(kind)}/${x.name}\n`).join(''));
  else if (objs.length === 0) io.err(o.allNamespaces ? 'No resources found\n' : `No resources found in ${ns} namespace.\n`);
  else io.out(objectTable(kind, objs, p));
  return 0;
}

export async function describe(c: RelayClient, io: Io, args: string[], o: Common): Promise<number> {
  const kind = kindArg(args[0]);
  if (!args[1]) throw new UsageError('describe needs KIND NAME');
  if (kind === 'Node') {
    const n = await c.json<NodeView>('GET', `/edge/v1/nodes/${enc(args[1])}`);
    io.out(stringify(n));
    return 0;
  }
  const x = await c.json<ObjectView>('GET', `/edge/v1/objects/${kind}/${enc(o.namespace ?? 'default')}/${enc(args[1])}`);
  const lines = [
    `Name:         ${x.name}`,
    `Namespace:    ${x.namespace}`,
    `Kind:         ${x.kind}`,
    `Node:         ${x.node === '*' ? '<all nodes>' : x.node}`,
    `UID:          ${x.uid}`,
    `Generation:   ${x.generation}`,
    `Created:      ${x.createdAt}`,
    `Updated:      ${x.updatedAt}`,
    'Manifest:',
    ...stringify(x.manifest).trimEnd().split('\n').map((l) => `  ${l}`),
    'Reported:',
    ...(x.reported.length === 0
      ? ['  <none yet>']
      : x.reported.flatMap((r) => [
          `  ${r.node} (desired version ${r.desiredVersion}, at ${r.updatedAt}):`,
          ...stringify(r.status).trimEnd().split('\n').map((l) => `    ${l}`),
        ])),
  ];
  io.out(lines.join('\n') + '\n');
  return 0;
}

export async function logs(c: RelayClient, io: Io, args: string[], o: Common & { container?: string; follow: boolean; tail?: string }): Promise<number> {
  const pod = args[0];
  if (!pod) throw new UsageError('logs needs a POD name');
  const q = new URLSearchParams();
  if (o.container) q.set('container', o.container);
  if (o.follow) q.set('follow', '1');
  if (o.tail !== undefined) {
    if (!/^-?\d+$/.test(o.tail)) throw new UsageError('--tail must be a number');
    if (Number(o.tail) >= 0) q.set('tail', o.tail);
  }
  const res = await c.raw('GET', `/edge/v1/logs/${enc(o.namespace ?? 'default')}/${enc(pod)}?${q.toString()}`);
  const reader = res.body?.getReader();
  if (!reader) return 0;
  const dec = new TextDecoder();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    io.out(dec.decode(value, { stream: true }));
  }
  return 0;
}

export async function twin(c: RelayClient, io: Io, args: string[], o: Common): Promise<number> {
  const [op, device, ...pairs] = args;
  if ((op !== 'get' && op !== 'set') || !device) throw new UsageError('usage: twin get DEVICE | twin set DEVICE PROP=VALUE...');
  const values: Record<string, string> = {};
  if (op === 'set') {
    if (pairs.length === 0) throw new UsageError('twin set needs at least one PROP=VALUE');
    for (const p of pairs) {
      const i = p.indexOf('=');
      if (i <= 0) throw new UsageError(`"${p}" is not PROP=VALUE`);
      values[p.slice(0, i)] = p.slice(i + 1);
    }
  }
  const r = await c.json<{ twins?: Record<string, { expected?: { value?: string }; actual?: { value?: string } }>; state?: string }>(
    'POST',
    `/edge/v1/twin/${enc(o.namespace ?? 'default')}/${enc(device)}`,
    op === 'set' ? { op, values } : { op },
  );
  if (o.output === 'json' || o.output === 'yaml') {
    emitStructured(io, o.output, r);
    return 0;
  }
  const rows = Object.entries(r.twins ?? {}).map(([name, t]) => [name, t.expected?.value ?? '', t.actual?.value ?? '']);
  io.out(`device ${device} (${r.state ?? 'unknown'})\n`);
  const { table } = await import('./printers.js');
  io.out(table(['PROPERTY', 'DESIRED', 'REPORTED'], rows));
  return 0;
}

export async function token(c: RelayClient, io: Io, args: string[], ttl: string | undefined): Promise<number> {
  if (args[0] !== 'create') throw new UsageError('usage: token create [--ttl SECONDS]');
  const r = await c.json<TokenCreated>('POST', EDGE_PATHS.tokens, ttl ? { ttlSeconds: Number(ttl) } : {});
  io.out(`${r.joinCommand ?? r.token}\n`);
  io.err(`expires ${r.expiresAt}\n`);
  return 0;
}


