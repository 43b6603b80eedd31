/** Kubernetes v1 Secret, the subset edgecore supports. Shared by node, relay and edgectl. */
import * as z from 'zod';
import { parseOrThrow } from '../../lib/schema.js';
import { base64, dataRecord, metadataSchema } from './common.js';

export const SECRET_TYPES = ['Opaque', 'kubernetes.io/dockerconfigjson', 'kubernetes.io/basic-auth', 'kubernetes.io/tls'] as const;

export const secretSchema = z
  .strictObject({
    apiVersion: z.literal('v1').default('v1'),
    kind: z.literal('Secret').default('Secret'),
    metadata: metadataSchema,
    type: z.enum(SECRET_TYPES).default('Opaque'),
    /** values base64-encoded */
    data: dataRecord(base64).default({}),
    /** plain values; win over `data` for the same key (as in Kubernetes) */
    stringData: dataRecord(z.string()).default({}),
    immutable: z.boolean().optional(),
  })
  .superRefine((s, ctx) => {
    if (s.type === 'kubernetes.io/dockerconfigjson') {
      const raw = s.stringData['.dockerconfigjson'] ?? (s.data['.dockerconfigjson'] !== undefined ? Buffer.from(s.data['.dockerconfigjson'], 'base64').toString('utf8') : undefined);
      if (raw === undefined) {
        ctx.addIssue({ code: 'custom', path: ['data', '.dockerconfigjson'], message: 'required for type kubernetes.io/dockerconfigjson' });
        return;
      }
      try {
        const j = JSON.parse(raw) as { auths?: unknown };
        if (!j || typeof j.auths !== 'object') throw new Error('no auths');
      } catch {
        ctx.addIssue({ code: 'custom', path: ['data', '.dockerconfigjson'], message: 'must be JSON with an "auths" object' });
      }
    }
  });

export type Secret = z.output<typeof secretSchema>;

export function parseSecret(value: unknown): Secret {
  return parseOrThrow(secretSchema, value, 'Secret');
}

/** Every key's decoded content (stringData over data). */
export function secretFiles(s: Secret): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(s.data)) out.set(k, Buffer.from(v, 'base64'));
  for (const [k, v] of Object.entries(s.stringData)) out.set(k, Buffer.from(v, 'utf8'));
  return out;
}

export interface RegistryAuth {
  serveraddress: string;
  username?: string;
  password?: string;
  auth?: string;
}

/** Registry credentials from a dockerconfigjson Secret, keyed by registry host. */
export function dockerConfigAuths(s: Secret): Map<string, RegistryAuth> {
  const out = new Map<string, RegistryAuth>();
  const raw = secretFiles(s).get('.dockerconfigjson');
  if (!raw) return out;
  const j = JSON.parse(raw.toString('utf8')) as { auths?: Record<string, { username?: string; password?: string; auth?: string }> };
  for (const [server, a] of Object.entries(j.auths ?? {})) {
    let { username, password } = a;
    if ((!username || !password) && a.auth) {
      const dec = Buffer.from(a.auth, 'base64').toString('utf8');
      const i = dec.indexOf(':');
      if (i > 0) {
        username = dec.slice(0, i);
        password = dec.slice(i + 1);
      }
    }
    const host = server.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
    out.set(host, { serveraddress: server, ...(username ? { username } : {}), ...(password ? { password } : {}) });
  }
  return out;
}
