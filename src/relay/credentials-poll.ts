/**
 * Node credentials changed elsewhere — by another process (`edgerelay rotate node`, `token`) or by
 * another replica of a fleet (its joins; docs/scale.md): every CREDENTIALS_POLL_MS the relay reads
 * the credential store's revision, and on a change rewrites the mosquitto files (external broker),
 * starts hearing the nodes that joined elsewhere, and closes the embedded broker's sessions that
 * were admitted with a password no longer stored. One poll at a time; a failed read is logged and
 * tried again at the next tick.
 */
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { CredentialStore } from './store/credentials.js';

/** How often the relay looks for node credentials changed by another process or replica. */
export const CREDENTIALS_POLL_MS = 2000;

export interface CredentialsPollDeps {
  credentials: Pick<CredentialStore, 'credentialsRevision' | 'listNodes'>;
  /** rewrite the external broker's account files (absent: embedded broker) */
  rewriteFiles?: () => Promise<void>;
  /** the node link hears this node already */
  knows(node: string): boolean;
  /** start hearing a node that joined elsewhere */
  joined(node: string): void;
  /** the embedded broker's sessions: which nodes are connected, whether one's password changed, and closing one */
  sessions?: { connected(): string[]; changed(node: string): Promise<boolean>; close(node: string): void };
  log: Logger;
  periodMs?: number;
}

export class CredentialsPoll {
  private revision = 0;
  private timer?: NodeJS.Timeout;
  private polling = false;

  constructor(private readonly d: CredentialsPollDeps) {}

  /** Read the current revision, then poll. */
  async start(): Promise<void> {
    this.revision = await this.d.credentials.credentialsRevision();
    this.timer = setInterval(() => this.tick(), this.d.periodMs ?? CREDENTIALS_POLL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    if (this.polling) return;
    this.polling = true;
    void this.pollOnce()
      .catch((e: unknown) => this.d.log.warn('could not read the node credentials revision', { error: errorMessage(e) }))
      .finally(() => (this.polling = false));
  }

  /** One look (the timer's; tests call it directly). */
  async pollOnce(): Promise<void> {
    const r = await this.d.credentials.credentialsRevision();
    if (r === this.revision) return;
    this.revision = r;
    await this.d.rewriteFiles?.();
    for (const n of await this.d.credentials.listNodes()) if (!this.d.knows(n.name)) this.d.joined(n.name);
    const s = this.d.sessions;
    for (const node of s?.connected() ?? []) if (await s!.changed(node)) s!.close(node);
  }
}
