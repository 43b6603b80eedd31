/**
 * The names a certificate issued by the relay must carry: this machine's host name and
 * addresses, loopback, the API's bind address and public URL host, and `api.tls.sans`.
 * Pure: the caller passes what node:os reports.
 */
import type { NetworkInterfaceInfo } from 'node:os';
import { isIP } from 'node:net';

export interface SanInput {
  hostname: string;
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>;
  /** api.host (a wildcard adds nothing) */
  apiHost: string;
  /** api.publicUrl, broker.publicUrl and the like: their host names are added */
  urls: readonly string[];
  extra: readonly string[];
}

const WILDCARDS = new Set(['', '0.0.0.0', '::', '[::]']);

function hostOf(url: string): string | undefined {
  try {
    const h = new URL(url).hostname;
    return h.startsWith('[') ? h.slice(1, -1) : h;
  } catch {
    return undefined;
  }
}

export function wantedSans(i: SanInput): string[] {
  const out = new Set<string>(['localhost', '127.0.0.1', '::1']);
  if (i.hostname) out.add(i.hostname.toLowerCase());
  for (const list of Object.values(i.interfaces)) {
    for (const a of list ?? []) {
      // link-local IPv6 needs a zone id: useless in a certificate
      if (a.family === 'IPv6' && /^fe[89ab]/i.test(a.address)) continue;
      out.add(a.address);
    }
  }
  if (!WILDCARDS.has(i.apiHost)) out.add(i.apiHost);
  for (const u of i.urls) {
    const h = u ? hostOf(u) : undefined;
    if (h) out.add(h);
  }
  for (const e of i.extra) out.add(isIP(e) ? e : e.toLowerCase());
  const dns = [...out].filter((s) => !isIP(s)).sort();
  const ips = [...out].filter((s) => isIP(s)).sort();
  return [...dns, ...ips];
}
