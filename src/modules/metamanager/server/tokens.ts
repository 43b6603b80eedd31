/**
 * Service-account-style bearer tokens for the MetaServer, in the shape Kubernetes' bound
 * service-account tokens have (a JWT naming the namespace, service account and pod), signed
 * with HS256 by a node-local key: the node both issues and checks them, so a shared secret is
 * enough and no key pair is needed. A token is good while its pod (same uid) is on the node.
 * The admin token (a random string in a 0600 file) is for the host's own tools.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface PodIdentity {
  namespace: string;
  pod: string;
  uid: string;
  serviceAccount: string;
}

export type Caller = { kind: 'admin' } | { kind: 'pod'; id: PodIdentity };

const b64 = (v: Buffer | string): string => Buffer.from(v).toString('base64url');

/** A secret kept in a private file, made on first use. */
export function privateSecret(file: string, bytes = 32): string {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, randomBytes(bytes).toString('base64url'), { mode: 0o600 });
  }
  chmodSync(file, 0o600);
  return readFileSync(file, 'utf8').trim();
}

export class TokenIssuer {
  constructor(
    private readonly key: string,
    private readonly issuer: string,
    private readonly adminToken: string,
  ) {}

  private mac(data: string): string {
    return createHmac('sha256', this.key).update(data).digest('base64url');
  }

  issue(id: PodIdentity, now: Date): string {
    const header = b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const claims = {
      iss: this.issuer,
      sub: `system:serviceaccount:${id.namespace}:${id.serviceAccount}`,
      iat: Math.floor(now.getTime() / 1000),
      'kubernetes.io': { namespace: id.namespace, pod: { name: id.pod, uid: id.uid }, serviceaccount: { name: id.serviceAccount } },
    };
    const body = `${header}.${b64(JSON.stringify(claims))}`;
    return `${body}.${this.mac(body)}`;
  }

  /** Who a bearer token names, or undefined when it is not one of ours (the pod check is the caller's). */
  verify(token: string): Caller | undefined {
    if (equal(token, this.adminToken)) return { kind: 'admin' };
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    if (!equal(parts[2]!, this.mac(`${parts[0]}.${parts[1]}`))) return undefined;
    try {
      const c = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as {
        iss?: string;
        'kubernetes.io'?: { namespace?: string; pod?: { name?: string; uid?: string }; serviceaccount?: { name?: string } };
      };
      const k = c['kubernetes.io'];
      if (c.iss !== this.issuer || !k?.namespace || !k.pod?.name || !k.pod.uid) return undefined;
      return { kind: 'pod', id: { namespace: k.namespace, pod: k.pod.name, uid: k.pod.uid, serviceAccount: k.serviceaccount?.name ?? 'default' } };
    } catch {
      return undefined;
    }
  }
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
