/**
 * `GET …/namespaces/<ns>/rules/<name>/messages`: what a storage rule kept (docs/appchannel.md),
 * oldest first, as a list in the Kubernetes shape — `kubectl get --raw` reads it. Query: `limit` (default 100, at most 1000), `continue` (the token of the
 * previous page), `node`, and `dead=true` for the rule's dead letters (deliveries that gave up).
 * Authorized as a `get` of the rule (the read-only token may read it).
 */
import { encodeBody } from '../../contract/appchan.js';
import { badRequest } from '../../contract/kube/status.js';
import type { StreamHandler } from '../apiserver/http/server.js';
import { RULE_API_VERSION } from '../kinds/rule.js';
import type { MessageStore } from '../store/messages.js';

export interface RuleMessage {
  id: string;
  node: string;
  topic: string;
  /** when the node accepted it */
  time: string;
  payload?: string;
  payloadBase64?: string;
  /** dead letters: why delivery gave up */
  error?: string;
}

export interface RuleMessageList {
  apiVersion: string;
  kind: 'RuleMessageList';
  metadata: { continue?: string };
  items: RuleMessage[];
}

export function messagesHandler(store: MessageStore): StreamHandler {
  return {
    verb: 'get',
    http: async (ctx, _req, res) => {
      const q = ctx.query;
      const limit = q.has('limit') ? Number(q.get('limit')) : 100;
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw badRequest('limit must be an integer from 1 to 1000');
      const cont = q.get('continue');
      const after = cont ? Number(cont) : 0;
      if (!Number.isInteger(after) || after < 0) throw badRequest('continue must be the token of a previous page');
      const node = q.get('node') ?? undefined;
      const rows = await store.listStored(ctx.object.metadata.uid ?? '', { afterSeq: after, limit: limit + 1, dead: q.get('dead') === 'true', ...(node ? { node } : {}) });
      const page = rows.slice(0, limit);
      const body: RuleMessageList = {
        apiVersion: RULE_API_VERSION,
        kind: 'RuleMessageList',
        metadata: rows.length > limit ? { continue: String(page[page.length - 1]!.seq) } : {},
        items: page.map((r) => ({ id: r.id, node: r.node, topic: r.topic, time: new Date(r.time).toISOString(), ...encodeBody(r.payload), ...(r.error ? { error: r.error } : {}) })),
      };
      const text = JSON.stringify(body);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    },
  };
}
