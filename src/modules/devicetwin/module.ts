/** devicetwin: placeholder until its issue lands; starts and stops cleanly so the daemon runs end to end. */
import type { NodeContext, NodeModule } from '../../node/services.js';

export class DeviceTwin implements NodeModule {
  readonly name = 'devicetwin';
  readonly group = 'twin';

  async start(ctx: NodeContext): Promise<void> {
    ctx.log.debug('devicetwin has no work yet');
  }

  async stop(): Promise<void> {}
}
