/** edged: placeholder until its issue lands; starts and stops cleanly so the daemon runs end to end. */
import type { NodeContext, NodeModule } from '../../node/services.js';

export class Edged implements NodeModule {
  readonly name = 'edged';
  readonly group = 'edged';

  async start(ctx: NodeContext): Promise<void> {
    ctx.log.debug('edged has no work yet');
  }

  async stop(): Promise<void> {}
}
