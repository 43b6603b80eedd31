/**
 * Which of the host's addresses the node reports as its Node's InternalIP addresses (pure). Peers
 * dial these to reach this node's mesh listener, so only addresses another host may reach go up:
 * never loopback, link-local, unspecified or multicast ones, never an interface named like a
 * container engine's or a virtual link (`excludeInterfaces`: `docker*`, `br-*`, `veth*`, ... and
 * the mesh's own interface with its ClusterIPs), never an address inside `excludeCIDRs` (the
 * Service range, the engine's network subnets). `pinned` replaces the search altogether
 * (kubelet's `--node-ip`): exactly those are reported, in that order.
 */
import { BlockList, isIP } from 'node:net';
import type { NetworkInterfaceInfo } from 'node:os';

export interface AddressRules {
  pinned: readonly string[];
  /** interface names; `*` matches any run of characters */
  excludeInterfaces: readonly string[];
  /** `<address>/<prefix>`, IPv4 or IPv6 */
  excludeCIDRs: readonly string[];
}

/** as many as a node's status carries (src/contract/node-status.ts) */
export const MAX_ADDRESSES = 16;

/** never reachable from another host */
const NEVER = ['0.0.0.0/8', '127.0.0.0/8', '169.254.0.0/16', '224.0.0.0/4', '::/128', '::1/128', 'fe80::/10', 'ff00::/8'];

/** `<address>/<prefix>` parsed, or undefined when it is not one */
export function parseCidr(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const m = /^([^/\s]+)\/(\d{1,3})$/.exec(text.trim());
  if (!m) return undefined;
  const v = isIP(m[1]!);
  const prefix = Number(m[2]);
  if (v === 0 || prefix > (v === 4 ? 32 : 128)) return undefined;
  return { address: m[1]!, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}

const globRe = (g: string): RegExp => new RegExp(`^${g.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);

/** The addresses to report, IPv4 first, each once, at most MAX_ADDRESSES. */
export function reportedAddresses(interfaces: Record<string, NetworkInterfaceInfo[] | undefined>, rules: AddressRules): string[] {
  if (rules.pinned.length > 0) return [...new Set(rules.pinned)].slice(0, MAX_ADDRESSES);
  const blocked = new BlockList();
  for (const c of [...NEVER, ...rules.excludeCIDRs]) {
    const p = parseCidr(c);
    if (p) blocked.addSubnet(p.address, p.prefix, p.family);
  }
  const names = rules.excludeInterfaces.map(globRe);
  const v4: string[] = [];
  const v6: string[] = [];
  for (const [name, list] of Object.entries(interfaces)) {
    if (names.some((re) => re.test(name))) continue;
    for (const a of list ?? []) {
      const family = isIP(a.address);
      if (a.internal || family === 0 || blocked.check(a.address, family === 4 ? 'ipv4' : 'ipv6')) continue;
      (family === 4 ? v4 : v6).push(a.address);
    }
  }
  return [...new Set([...v4, ...v6])].slice(0, MAX_ADDRESSES);
}
