/**
 * `edgecore join`: trade a bootstrap token for this node's own broker credentials and write them
 * into the node's config file (created if absent, 0600; other settings are kept).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseDocument } from 'yaml';
import type { JoinResponse } from '../../contract/api.js';
import { wireErrorSchema } from '../../contract/errors.js';
import { parseConfig } from '../../config/load.js';

export interface JoinOptions {
  relay: string;
  token: string;
  node: string;
  configFile: string;
  dataDir?: string;
  fetchImpl?: typeof fetch;
}

export async function joinRelay(o: JoinOptions): Promise<JoinResponse> {
  const f = o.fetchImpl ?? fetch;
  const url = new URL('/edge/v1/join', o.relay.endsWith('/') ? o.relay : o.relay + '/');
  let res: Response;
  try {
    res = await f(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: o.token, node: o.node }) });
  } catch (e) {
    throw new Error(`cannot reach the relay at ${o.relay}: ${(e as Error).cause ? String((e as Error).cause) : (e as Error).message}`);
  }
  const body = (await res.json().catch(() => ({}))) as unknown;
  if (!res.ok) {
    const parsed = wireErrorSchema.safeParse((body as { error?: unknown } | null)?.error);
    const err = parsed.success ? parsed.data : undefined;
    const issues = err?.issues?.map((i) => `${i.path}: ${i.reason}`).join('; ');
    throw new Error(`join refused (${res.status}): ${err?.message ?? res.statusText}${issues && !err?.message.includes(issues) ? ` (${issues})` : ''}`);
  }
  const j = body as JoinResponse;
  writeJoinedConfig(o.configFile, j, o.dataDir);
  return j;
}

/** Set node.name and the edgehub section in the config file, keeping everything else. */
export function writeJoinedConfig(file: string, j: JoinResponse, dataDir?: string): void {
  const doc = existsSync(file) ? parseDocument(readFileSync(file, 'utf8')) : parseDocument('{}');
  if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0]!.message}`);
  doc.setIn(['node', 'name'], j.node);
  if (dataDir) doc.setIn(['dataDir'], dataDir);
  doc.setIn(['modules', 'edgehub', 'enabled'], true);
  doc.setIn(['modules', 'edgehub', 'relay', 'url'], j.brokerUrl);
  doc.setIn(['modules', 'edgehub', 'relay', 'username'], j.username);
  doc.setIn(['modules', 'edgehub', 'relay', 'password'], j.password);
  parseConfig(doc.toJS(), file); // refuse to write a config the daemon would refuse
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, doc.toString(), { mode: 0o600 });
  renameSync(tmp, file);
}
