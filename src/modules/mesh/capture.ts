/**
 * How traffic to a ClusterIP reaches the proxy: every ClusterIP (and the cluster DNS address) is
 * a local /32 address on one interface of the node's own (`modules.mesh.interface`, a `dummy`
 * link, or an empty `bridge` where the kernel lacks the dummy driver), and the proxy listens on
 * ClusterIP:port. A pod's packet to a ClusterIP leaves its Docker bridge for the host, which
 * owns the address, so it is delivered to the proxy's socket with the pod's own source address
 * (ClientIP affinity sees the real client). No iptables rule is written — nothing to collide
 * with Docker's chains, nothing to leave behind: stopping deletes the interface. Changes are
 * planned (pure) and applied with iproute2's `ip`.
 */
import { execFile } from 'node:child_process';
import type { Logger } from '../../core/logger.js';

/** Runs `ip` with these arguments; resolves stdout, rejects with stderr. */
export type IpRunner = (args: string[]) => Promise<string>;

export const runIp: IpRunner = (args) =>
  new Promise((resolve, reject) =>
    execFile('ip', args, { timeout: 10_000 }, (e, stdout, stderr) => (e ? reject(new Error(`ip ${args.join(' ')}: ${(stderr || e.message).trim()}`)) : resolve(stdout))),
  );

/** Which /32 addresses to add and delete so the interface holds exactly `wanted` (pure). */
export function planAddresses(present: readonly string[], wanted: readonly string[]): { add: string[]; del: string[] } {
  const have = new Set(present);
  const want = new Set(wanted);
  return { add: [...want].filter((a) => !have.has(a)).sort(), del: [...have].filter((a) => !want.has(a)).sort() };
}

/** IPv4 addresses of `ip -4 -o addr show` output (pure). */
export function parseAddrShow(out: string): string[] {
  const found: string[] = [];
  for (const line of out.split('\n')) {
    const m = /\binet (\d+\.\d+\.\d+\.\d+)\/\d+/.exec(line);
    if (m) found.push(m[1]!);
  }
  return found;
}

export class Capture {
  private kind?: 'dummy' | 'bridge';

  constructor(
    readonly iface: string,
    private readonly ip: IpRunner,
    private readonly log: Logger,
  ) {}

  /** The interface, up (made if missing). */
  async ensure(): Promise<void> {
    const exists = await this.ip(['link', 'show', 'dev', this.iface]).then(
      () => true,
      () => false,
    );
    if (!exists) {
      try {
        await this.ip(['link', 'add', this.iface, 'type', 'dummy']);
        this.kind = 'dummy';
      } catch (e) {
        this.log.info('no dummy interface driver; holding ClusterIPs on an empty bridge', { interface: this.iface, error: (e as Error).message });
        await this.ip(['link', 'add', this.iface, 'type', 'bridge']);
        this.kind = 'bridge';
      }
    }
    await this.ip(['link', 'set', this.iface, 'up']);
  }

  async present(): Promise<string[]> {
    return parseAddrShow(await this.ip(['-4', '-o', 'addr', 'show', 'dev', this.iface]));
  }

  /** Make the interface hold exactly `wanted`; returns what changed. */
  async sync(wanted: readonly string[]): Promise<{ add: string[]; del: string[] }> {
    const plan = planAddresses(await this.present(), wanted);
    for (const a of plan.del) await this.ip(['addr', 'del', `${a}/32`, 'dev', this.iface]);
    for (const a of plan.add) await this.ip(['addr', 'add', `${a}/32`, 'dev', this.iface]);
    return plan;
  }

  /** Delete the interface and every address on it. */
  async remove(): Promise<void> {
    await this.ip(['link', 'del', this.iface]).catch((e: Error) => this.log.debug('interface not removed', { interface: this.iface, error: e.message }));
  }

  get linkKind(): string | undefined {
    return this.kind;
  }
}
