/**
 * metamanager: the node's memory. Every desired object and every status goes through here into
 * SQLite before anyone acts on it; each committed change is published as `resource.changed`.
 * Statuses and telemetry go upstream through the node's uplink (status stored and queued in one
 * transaction). Serves the local list/watch API for apps on the node.
 */
import type { Server } from 'node:http';
import type { NodeContext, NodeModule } from '../../node/services.js';
import type { NodeMessage } from '../../node/messages.js';
import { startLocalApi } from './api.js';

export class MetaManager implements NodeModule {
  readonly name = 'metamanager';
  readonly group = 'meta';
  private unsubscribe?: () => void;
  private server?: Server;

  async start(ctx: NodeContext): Promise<void> {
    const { store, config, uplink } = ctx.services;
    const resources = store.resources;
    this.unsubscribe = resources.onChange((change) => ctx.bus.publish({ type: 'resource.changed', change }));
    ctx.bus.serve((msg: NodeMessage) => {
      switch (msg.type) {
        case 'desired.apply':
          return resources.put(msg.key, msg.spec, {
            origin: msg.origin,
            ...(msg.resourceVersion !== undefined ? { resourceVersion: msg.resourceVersion } : {}),
            ...(msg.uid ? { uid: msg.uid } : {}),
          });
        case 'desired.delete':
          return { deleted: resources.delete(msg.key) !== undefined };
        case 'desired.replace': {
          const changes = resources.replaceAll(
            msg.origin,
            msg.kinds,
            msg.items.map((i) => ({
              key: i.key,
              spec: i.spec,
              opts: { ...(i.resourceVersion !== undefined ? { resourceVersion: i.resourceVersion } : {}), ...(i.uid ? { uid: i.uid } : {}) },
            })),
          );
          return { changes: changes.length };
        }
        case 'status.report':
          return uplink.reportStatus(msg.key, msg.status, 'upstream' in msg ? msg.upstream : msg.status);
        case 'telemetry.report':
          return void uplink.reportTelemetry(msg.key, msg.event, msg.data);
        case 'event.report':
          return void uplink.reportEvent(msg.key, msg.event);
        default:
          return undefined;
      }
    });
    const api = config.modules.metamanager.api;
    if (api.enabled) {
      this.server = await startLocalApi(resources, api.host, api.port, ctx.log);
      ctx.log.info('local API listening', { address: this.server.address() });
    }
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    const s = this.server;
    this.server = undefined;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
  }
}
