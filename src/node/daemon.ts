/**
 * `edgecore run`: open the store, start the modules, tell systemd when healthy, keep the
 * watchdog fed while the health check passes, and stop everything on SIGTERM/SIGINT.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { EdgecoreConfig } from '../config/schema.js';
import { Bus } from '../core/bus.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { Supervisor } from '../core/supervisor.js';
import type { Notifier } from '../lib/notify.js';
import { processStartTime } from '../lib/ports.js';
import { ioUringProblem } from '../lib/runtime.js';
import { trapStopSignals } from '../lib/signals.js';
import { openNodeStore, type NodeStore } from '../store/store.js';
import type { NodeMessage, NodeReplies } from './messages.js';
import { nodeModuleSpecs } from './modules.js';
import { startOps, type OpsServer } from './ops.js';
import { nodeListeners, removeRunState, writeRunState } from './runstate.js';
import { nodeServices, type NodeServices } from './services.js';

export interface NodeHandle {
  supervisor: Supervisor<NodeMessage, NodeReplies, NodeServices>;
  store: NodeStore;
  /** the ops endpoint's port (undefined when off) */
  opsPort?: number;
  healthy(): Promise<boolean>;
  stop(): Promise<void>;
}

export interface StartNodeOptions {
  config: EdgecoreConfig;
  log: Logger;
  version: string;
  notifier?: Notifier;
}

export function storePath(config: EdgecoreConfig): string {
  return join(config.dataDir, 'edgecore.db');
}

export async function startNode(opts: StartNodeOptions): Promise<NodeHandle> {
  const { config, log } = opts;
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const store = openNodeStore(storePath(config), { outbox: config.modules.edgehub.outbox, deletionWindow: config.modules.metamanager.api.watchWindow });
  const services = nodeServices(config, store, opts.version);
  const bus = new Bus<NodeMessage, NodeReplies>();
  const supervisor = new Supervisor(bus, services, log, { stopTimeoutMs: config.shutdownTimeoutSeconds * 1000 });
  for (const spec of await nodeModuleSpecs(config)) supervisor.add(spec);

  const healthy = async (): Promise<boolean> => {
    try {
      store.db.prepare('SELECT 1').get();
    } catch {
      return false;
    }
    return supervisor.healthy();
  };

  const { metrics, uplink } = services;
  metrics.gauge('module_up', () => supervisor.status().filter((m) => m.state !== 'disabled').map((m) => ({ labels: { module: m.name }, value: m.state === 'running' ? 1 : 0 })));
  metrics.gauge('module_restarts_total', () => supervisor.status().filter((m) => m.state !== 'disabled').map((m) => ({ labels: { module: m.name }, value: m.restarts })));
  metrics.gaugeGroup(['outbox_rows', 'outbox_dropped_total', 'app_outbox_rows', 'app_outbox_bytes', 'app_outbox_dropped_total'], () => {
    const b = uplink.backlog(); // one read of the outbox's counts per scrape
    return { outbox_rows: b.rows, outbox_dropped_total: b.dropped, app_outbox_rows: b.app.rows, app_outbox_bytes: b.app.bytes, app_outbox_dropped_total: b.app.dropped };
  });

  log.info('edgecore starting', { version: opts.version, node: config.node.name, dataDir: config.dataDir });
  const runtime = ioUringProblem(process.version, process.env);
  if (runtime) log.warn(runtime.detail, { fix: runtime.fix });
  let ops: OpsServer | undefined;
  if (config.ops.enabled) {
    try {
      ops = await startOps({ host: config.ops.host, port: config.ops.port, metrics, healthy });
    } catch (e) {
      store.close();
      throw new Error(`ops endpoint ${config.ops.host}:${config.ops.port}: ${errorMessage(e)}`);
    }
    log.info('ops endpoint listening', { host: config.ops.host, port: ops.port, metrics: metrics.enabled });
  }
  // who holds this data dir and its ports, for `edgecore check` (removed again on stop)
  writeRunState(config.dataDir, { pid: process.pid, startTime: processStartTime(process.pid), version: opts.version, listening: nodeListeners(config) });
  try {
    await supervisor.startAll();
  } catch (e) {
    removeRunState(config.dataDir, process.pid);
    throw e;
  }

  const notifier = opts.notifier;
  let ready = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async (): Promise<void> => {
    const ok = await healthy();
    if (ok && !ready) {
      ready = true;
      log.info('edgecore ready', { modules: supervisor.status().filter((s) => s.state === 'running').map((s) => s.name) });
      await notifier?.notify('READY=1\nSTATUS=running');
    }
    if (ready && notifier?.watchdogUsec) {
      if (ok) await notifier.notify('WATCHDOG=1');
      else log.warn('health check failing; withholding watchdog ping', { modules: supervisor.status() });
    }
  };
  const periodMs = Math.max(
    200,
    Math.min(config.health.checkIntervalSeconds * 1000, notifier?.watchdogUsec ? notifier.watchdogUsec / 2000 : Infinity),
  );
  // Until ready, look often (modules in backoff may come up at any moment).
  const schedule = (): void => {
    timer = setTimeout(
      () => {
        tick()
          .catch((e) => log.error('health check error', { error: errorMessage(e) }))
          .finally(schedule);
      },
      ready ? periodMs : 200,
    );
    timer.unref();
  };
  await tick();
  schedule();

  let stopped = false;
  return {
    supervisor,
    store,
    ...(ops ? { opsPort: ops.port } : {}),
    healthy,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      await notifier?.notify('STOPPING=1');
      log.info('edgecore stopping');
      await supervisor.stopAll();
      await ops?.close();
      store.close();
      removeRunState(config.dataDir, process.pid);
      log.info('edgecore stopped');
    },
  };
}

/**
 * Run until SIGTERM/SIGINT; resolves with the exit code. The handlers go in before the start, so
 * a signal during the start (or right after READY=1) stops the node gracefully once it is up.
 */
export async function runNode(opts: StartNodeOptions): Promise<number> {
  const signals = trapStopSignals((sig) => {
    opts.log.warn('second signal: exiting now', { signal: sig });
    process.exit(1);
  });
  let handle: NodeHandle;
  try {
    handle = await startNode(opts);
  } catch (e) {
    signals.dispose();
    throw e;
  }
  const sig = await signals.first;
  opts.log.info('signal received', { signal: sig });
  try {
    await handle.stop();
    return 0;
  } catch (e) {
    opts.log.error('stop failed', { error: errorMessage(e) });
    return 1;
  }
}
