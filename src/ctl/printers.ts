/** Output of edgectl: kubectl-style aligned tables, ages, and the per-kind columns. */
import type { NodeView, ObjectView } from '../contract/api.js';

/** Columns padded to the widest cell, separated by three spaces (as kubectl does). */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : (c ?? '').padEnd(widths[i]!))).join('   ').trimEnd()).join('\n') + '\n';
}

export function age(iso: string | null | undefined, now: Date): string {
  if (!iso) return '<none>';
  const s = Math.max(0, Math.floor((now.getTime() - new Date(iso).getTime()) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

export interface PrintOptions {
  wide: boolean;
  allNamespaces: boolean;
  now: Date;
}

interface PodStatusLike {
  phase?: string;
  reason?: string;
  podIP?: string;
  containerStatuses?: { ready?: boolean; restartCount?: number; state?: { waiting?: { reason?: string }; terminated?: { reason?: string } } }[];
}

function latest(o: ObjectView): { status: unknown; node: string } | undefined {
  const r = [...o.reported].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))[0];
  return r ? { status: r.status, node: r.node } : undefined;
}

export function podRow(o: ObjectView, p: PrintOptions): string[] {
  const st = (latest(o)?.status ?? {}) as PodStatusLike;
  const specContainers = ((o.manifest.spec as { containers?: unknown[] } | undefined)?.containers ?? []).length;
  const cs = st.containerStatuses ?? [];
  const ready = `${cs.filter((c) => c.ready).length}/${cs.length || specContainers}`;
  const waiting = cs.map((c) => c.state?.waiting?.reason ?? c.state?.terminated?.reason).find((r) => r);
  // as kubectl: a pod being deleted reads Terminating until the node reports it gone
  const deleting = !!(o.manifest.metadata as { deletionTimestamp?: string } | undefined)?.deletionTimestamp;
  const status = deleting ? 'Terminating' : o.reported.length === 0 ? 'Pending' : (waiting ?? st.reason ?? st.phase ?? 'Unknown');
  const restarts = String(cs.reduce((n, c) => n + (c.restartCount ?? 0), 0));
  const row = [o.name, ready, status, restarts, age(o.createdAt, p.now)];
  if (p.wide) row.push(st.podIP ?? '<none>', o.node);
  return p.allNamespaces ? [o.namespace, ...row] : row;
}

export const POD_HEADER = (p: PrintOptions): string[] => [
  ...(p.allNamespaces ? ['NAMESPACE'] : []),
  'NAME',
  'READY',
  'STATUS',
  'RESTARTS',
  'AGE',
  ...(p.wide ? ['IP', 'NODE'] : []),
];

export function nodeRows(nodes: NodeView[], p: PrintOptions): string {
  const header = ['NAME', 'STATUS', 'LAST CONTACT', 'VERSION', 'AGE', ...(p.wide ? ['ARCH', 'AGENT', 'OUTBOX', 'DESIRED/APPLIED'] : [])];
  const rows = nodes.map((n) => [
    n.name,
    n.status,
    n.lastContact ? `${age(n.lastContact, p.now)} ago` : '<never>',
    n.agentVersion || '<unknown>',
    age(n.joinedAt, p.now),
    ...(p.wide ? [n.arch || '<unknown>', n.agentVersion || '<unknown>', n.outbox ? `${n.outbox.rows} (${n.outbox.dropped} dropped)` : '<none>', `${n.desiredVersion}/${n.appliedVersion}`] : []),
  ]);
  return table(header, rows);
}

export function objectTable(kind: string, objs: ObjectView[], p: PrintOptions): string {
  const ns = (o: ObjectView, row: string[]): string[] => (p.allNamespaces ? [o.namespace, ...row] : row);
  const nsHead = (h: string[]): string[] => (p.allNamespaces ? ['NAMESPACE', ...h] : h);
  const nodeCol = (o: ObjectView): string => (o.node === '*' ? '<all>' : o.node);
  switch (kind) {
    case 'Pod':
      return table(POD_HEADER(p), objs.map((o) => podRow(o, p)));
    case 'ConfigMap':
      return table(
        nsHead(['NAME', 'DATA', 'AGE', ...(p.wide ? ['NODE'] : [])]),
        objs.map((o) => {
          const m = o.manifest as { data?: object; binaryData?: object };
          const n = Object.keys(m.data ?? {}).length + Object.keys(m.binaryData ?? {}).length;
          return ns(o, [o.name, String(n), age(o.createdAt, p.now), ...(p.wide ? [nodeCol(o)] : [])]);
        }),
      );
    case 'Secret':
      return table(
        nsHead(['NAME', 'TYPE', 'DATA', 'AGE']),
        objs.map((o) => {
          const m = o.manifest as { type?: string; data?: object; stringData?: object };
          const n = new Set([...Object.keys(m.data ?? {}), ...Object.keys(m.stringData ?? {})]).size;
          return ns(o, [o.name, m.type ?? 'Opaque', String(n), age(o.createdAt, p.now)]);
        }),
      );
    case 'DeviceModel':
      return table(
        nsHead(['NAME', 'PROTOCOL', 'PROPERTIES', 'AGE']),
        objs.map((o) => {
          const s = (o.manifest.spec ?? {}) as { protocol?: string; properties?: unknown[] };
          return ns(o, [o.name, s.protocol ?? '<none>', String((s.properties ?? []).length), age(o.createdAt, p.now)]);
        }),
      );
    case 'Device':
      return table(
        nsHead(['NAME', 'MODEL', 'NODE', 'STATE', 'AGE', ...(p.wide ? ['TWINS'] : [])]),
        objs.map((o) => {
          const s = (o.manifest.spec ?? {}) as { deviceModelRef?: { name?: string } };
          const st = (latest(o)?.status ?? {}) as { state?: string; twins?: { propertyName: string; reported?: { value?: string } }[] };
          const twins = (st.twins ?? []).map((t) => `${t.propertyName}=${t.reported?.value ?? '?'}`).join(',');
          return ns(o, [o.name, s.deviceModelRef?.name ?? '', nodeCol(o), st.state ?? (o.reported.length ? 'unknown' : 'pending'), age(o.createdAt, p.now), ...(p.wide ? [twins || '<none>'] : [])]);
        }),
      );
    default:
      return table(nsHead(['NAME', 'NODE', 'AGE']), objs.map((o) => ns(o, [o.name, nodeCol(o), age(o.createdAt, p.now)])));
  }
}

/** The object as `get -o yaml|json` shows it: the manifest plus server fields and reported status. */
export function fullObject(o: ObjectView): Record<string, unknown> {
  const meta = (o.manifest.metadata ?? {}) as Record<string, unknown>;
  const r = latest(o);
  return {
    ...o.manifest,
    metadata: { ...meta, uid: o.uid, generation: o.generation, creationTimestamp: o.createdAt },
    ...(r ? { status: r.status } : {}),
  };
}
