/** edgehub: placeholder until its issue lands; starts and stops cleanly so the daemon runs end to end. */
import type { NodeContext, NodeModule } from '../../node/services.js';

export class EdgeHub implements NodeModule {
  readonly name = 'edgehub';
  readonly group = 'hub';

  async start(ctx: NodeContext): Promise<void> {
    ctx.log.debug('edgehub has no work yet');
  }

  async stop(): Promise<void> {}
}
