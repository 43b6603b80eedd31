/**
 * Table output (`kubectl get`): a kind's columns and rows, each row carrying the object's
 * metadata (PartialObjectMetadata, for kubectl's NAMESPACE and LABELS columns) or the full
 * object with includeObject=Object (kubectl --sort-by needs it), and PartialObjectMetadata(List).
 */
import { partialMetadata } from '../../../contract/kube/table.js';
import type { KubeObject, Table, TableRow } from '../../../contract/kube/types.js';
import type { ResourceDef } from '../../kinds/types.js';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export function includeObjectOf(v: string | null): IncludeObject {
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}

function rowOf(def: ResourceDef, o: KubeObject, now: Date, include: IncludeObject, metaApiVersion: string): TableRow {
  let cells: unknown[];
  try {
    cells = def.row(o, now);
  } catch {
    cells = def.columns.map((_, i) => (i === 0 ? o.metadata.name : '<error>'));
  }
  const row: TableRow = { cells };
  if (include === 'Metadata') row.object = partialMetadata(o, metaApiVersion);
  else if (include === 'Object') row.object = o;
  return row;
}

export function toTable(
  def: ResourceDef,
  items: readonly KubeObject[],
  opts: { now: Date; include: IncludeObject; version: 'v1' | 'v1beta1'; resourceVersion?: string; continue?: string; remainingItemCount?: number; headers?: boolean },
): Table {
  const metaApiVersion = `meta.k8s.io/${opts.version}`;
  return {
    kind: 'Table',
    apiVersion: metaApiVersion as Table['apiVersion'],
    metadata: {
      ...(opts.resourceVersion !== undefined ? { resourceVersion: opts.resourceVersion } : {}),
      ...(opts.continue ? { continue: opts.continue } : {}),
      ...(opts.remainingItemCount !== undefined ? { remainingItemCount: opts.remainingItemCount } : {}),
    },
    columnDefinitions: opts.headers === false ? [] : def.columns,
    rows: items.map((o) => rowOf(def, o, opts.now, opts.include, metaApiVersion)),
  };
}

export function toPartial(o: KubeObject, version: 'v1' | 'v1beta1'): unknown {
  return partialMetadata(o, `meta.k8s.io/${version}`);
}

export function toPartialList(items: readonly KubeObject[], version: 'v1' | 'v1beta1', resourceVersion?: string): unknown {
  return {
    kind: 'PartialObjectMetadataList',
    apiVersion: `meta.k8s.io/${version}`,
    metadata: resourceVersion !== undefined ? { resourceVersion } : {},
    items: items.map((o) => toPartial(o, version)),
  };
}
