/**
 * Static pods (kubelet's staticPodPath): every *.yaml/*.yml/*.json file in a folder holds one or
 * more documents (Pod, ConfigMap or Secret). The whole set is handed to metamanager as origin
 * 'static' (level-triggered `desired.replace`), so removing a file removes its pods. A file that
 * fails to parse or validate is reported with the field path and its previous good content is
 * kept (state stays as it was). A file is parsed again only when its text changed: a rescan of
 * unchanged files reads them and parses nothing (a bad file is reported once per content).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseConfigMap } from '../../contract/resources/configmap.js';
import { parsePod } from '../../contract/resources/pod.js';
import { parseSecret } from '../../contract/resources/secret.js';
import { ValidationError } from '../../core/errors.js';
import { stableStringify } from '../../lib/json.js';
import type { ResourceKey } from '../../store/resources.js';

export interface StaticItem {
  key: ResourceKey;
  spec: unknown;
}

export const STATIC_KINDS = ['Pod', 'ConfigMap', 'Secret'];

/** Parse one file's text into items; throws ValidationError naming the document and field. */
export function parseStaticFile(text: string, file: string): StaticItem[] {
  const docs = parseAllDocuments(text, { uniqueKeys: true });
  const items: StaticItem[] = [];
  (Array.isArray(docs) ? docs : [docs]).forEach((doc, i) => {
    if (doc.errors.length) {
      const e = doc.errors[0]!;
      const where = e.linePos?.[0] ? `line ${e.linePos[0].line}` : `document ${i}`;
      throw new ValidationError([{ path: where, reason: e.message.split('\n')[0] ?? 'invalid YAML' }], file);
    }
    const v = doc.toJS() as unknown;
    if (v === null || v === undefined) return;
    const kind = v && typeof v === 'object' && 'kind' in v ? String((v as { kind: unknown }).kind) : 'Pod';
    const prefix = `document ${i}`;
    try {
      if (kind === 'Pod') {
        const p = parsePod(v);
        items.push({ key: { kind, namespace: p.metadata.namespace, name: p.metadata.name }, spec: v });
      } else if (kind === 'ConfigMap') {
        const c = parseConfigMap(v);
        items.push({ key: { kind, namespace: c.metadata.namespace, name: c.metadata.name }, spec: v });
      } else if (kind === 'Secret') {
        const s = parseSecret(v);
        items.push({ key: { kind, namespace: s.metadata.namespace, name: s.metadata.name }, spec: v });
      } else {
        throw new ValidationError([{ path: 'kind', reason: `must be Pod, ConfigMap or Secret (got "${kind}")` }], file);
      }
    } catch (e) {
      if (e instanceof ValidationError) throw new ValidationError(e.issues.map((x) => ({ path: `${prefix}: ${x.path}`, reason: x.reason })), file);
      throw e;
    }
  });
  return items;
}

export class StaticPods {
  private readonly good = new Map<string, StaticItem[]>();
  /** each file's text when last parsed (good or refused) */
  private readonly seenText = new Map<string, string>();
  /** the set changed since it was last handed over (or the handover failed) */
  private dirty = true;
  private lastSent?: string;

  constructor(
    private readonly dir: string,
    private readonly replace: (items: StaticItem[]) => Promise<void>,
    private readonly onError: (file: string, err: unknown) => void,
  ) {}

  /** Read the folder and hand the whole set over when it changed. */
  async scan(): Promise<void> {
    let files: string[] = [];
    try {
      files = readdirSync(this.dir).filter((f) => /\.(ya?ml|json)$/.test(f) && !f.startsWith('.')).sort();
    } catch {
      files = [];
    }
    for (const f of [...this.seenText.keys()]) {
      if (files.includes(f)) continue;
      this.seenText.delete(f);
      if (this.good.delete(f)) this.dirty = true;
    }
    for (const f of files) {
      const path = join(this.dir, f);
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (e) {
        this.onError(path, e);
        continue;
      }
      if (this.seenText.get(f) === text) continue;
      this.seenText.set(f, text);
      try {
        this.good.set(f, parseStaticFile(text, path));
        this.dirty = true;
      } catch (e) {
        this.onError(path, e);
      }
    }
    if (!this.dirty) return;
    // One owner per key: the first file (in name order) wins.
    const seen = new Set<string>();
    const items: StaticItem[] = [];
    for (const f of [...this.good.keys()].sort()) {
      for (const it of this.good.get(f)!) {
        const k = `${it.key.kind}/${it.key.namespace}/${it.key.name}`;
        if (seen.has(k)) {
          this.onError(join(this.dir, f), new Error(`${k} is already defined by another file; ignored here`));
          continue;
        }
        seen.add(k);
        items.push(it);
      }
    }
    const sig = stableStringify(items);
    if (sig !== this.lastSent) await this.replace(items);
    this.lastSent = sig;
    this.dirty = false;
  }
}
