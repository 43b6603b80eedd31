/** eventbus: placeholder until its issue lands; starts and stops cleanly so the daemon runs end to end. */
import type { NodeContext, NodeModule } from '../../node/services.js';

export class EventBus implements NodeModule {
  readonly name = 'eventbus';
  readonly group = 'bus';

  async start(ctx: NodeContext): Promise<void> {
    ctx.log.debug('eventbus has no work yet');
  }

  async stop(): Promise<void> {}
}
