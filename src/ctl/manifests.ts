/** Reading manifests for `apply -f` / `delete -f`: a file, a folder (*.yaml|*.yml|*.json), or stdin; multi-document YAML. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { errnoCode, errorMessage } from '../core/errors.js';
import { yamlIssue, yamlValue } from '../lib/config-file.js';

export interface SourcedDoc {
  /** file name and document number, for messages */
  source: string;
  object: unknown;
}

export function parseManifestText(text: string, source: string): SourcedDoc[] {
  const out: SourcedDoc[] = [];
  const docs = parseAllDocuments(text, { uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((d, i) => {
    if (d.errors.length) {
      const issue = yamlIssue(d.errors[0]!);
      throw new Error(`${source}: ${issue.path}: ${issue.reason}`);
    }
    const r = yamlValue(() => d.toJS());
    if ('issue' in r) throw new Error(`${source}: ${r.issue.reason}`);
    const v = r.value;
    if (v === null || v === undefined) return;
    // a List (kubectl get -o yaml of several objects) expands to its items
    if (typeof v === 'object' && (v as { kind?: unknown }).kind === 'List' && Array.isArray((v as { items?: unknown }).items)) {
      for (const [j, item] of ((v as { items: unknown[] }).items).entries()) out.push({ source: `${source}#${i + 1}.items[${j}]`, object: item });
      return;
    }
    out.push({ source: list.length > 1 ? `${source}#${i + 1}` : source, object: v });
  });
  return out;
}

export function readManifests(path: string, readStdin: () => string): SourcedDoc[] {
  if (path === '-') return parseManifestText(readStdin(), '<stdin>');
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new Error(errnoCode(e) === 'ENOENT' ? `${path}: no such file or directory` : `${path}: ${errorMessage(e)}`);
  }
  if (st.isDirectory()) {
    return readdirSync(path)
      .filter((f) => /\.(ya?ml|json)$/.test(f))
      .sort()
      .flatMap((f) => parseManifestText(readFileSync(join(path, f), 'utf8'), join(path, f)));
  }
  return parseManifestText(readFileSync(path, 'utf8'), path);
}
