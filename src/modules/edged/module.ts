/**
 * edged: runs the node's pods on the local Docker engine. One reconcile pass at a time, triggered
 * by desired changes (`resource.changed`), Docker events, probe results, backoff expiries and a
 * periodic resync; failures retry with capped backoff. Containers outlive the daemon and are
 * adopted on the next start. Serves `pod.logs` / `pod.exec` / `pod.stream` / `edged.resync` on the bus.
 */
import { watch, type FSWatcher } from 'node:fs';
import { backoffDelay, sleep } from '../../core/backoff.js';
import { ConflictError, errorMessage, NotFoundError, ValidationError } from '../../core/errors.js';
import type { NodeMessage } from '../../node/messages.js';
import type { NodeContext, NodeModule } from '../../node/services.js';
import { storeLookups, type SandboxSettings } from './desired.js';
import { Engine } from './engine.js';
import type { EdgedMessage, PodExecReply, PodLogsReply, PodRef } from './messages.js';
import type { ObservedContainer } from './model.js';
import { ProbeManager } from './probes.js';
import { Reconciler } from './reconciler.js';
import { PodSessions } from './sessions.js';
import { STATIC_KINDS, StaticPods } from './static.js';

const RETRY = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.2 };

/** Engine answers about a request's container (gone, not running) are answers, not module failures. */
function asAnswer(e: unknown): never {
  const code = (e as { statusCode?: number }).statusCode;
  if (code === 404) throw new NotFoundError(`container (${errorMessage(e)})`);
  if (code === 409) throw new ConflictError(errorMessage(e));
  throw e;
}

export class Edged implements NodeModule {
  readonly name = 'edged';
  readonly group = 'edged';
  private ctx?: NodeContext;
  private engine?: Engine;
  private probes?: ProbeManager;
  private rec?: Reconciler;
  private abort?: AbortController;
  private running?: Promise<void>;
  private again = false;
  private pendingRounds = 0;
  private failures = 0;
  private engineDown = false;
  private debounce?: NodeJS.Timeout;
  private wake?: NodeJS.Timeout;
  private retry?: NodeJS.Timeout;
  private resync?: NodeJS.Timeout;
  private staticTimer?: NodeJS.Timeout;
  private watcher?: FSWatcher;
  private burst?: NodeJS.Timeout;
  private unsubscribe?: () => void;
  private sessions?: PodSessions;

  async start(ctx: NodeContext): Promise<void> {
    this.ctx = ctx;
    const { config, store } = ctx.services;
    const cfg = config.modules.edged;
    this.abort = new AbortController();
    this.engine = new Engine(config.paths.dockerSocket, config.node.name);
    this.probes = new ProbeManager(
      async (id, cmd, timeoutMs) => (await this.engine!.exec(id, cmd, undefined, timeoutMs)).exitCode,
      () => this.trigger('probe'),
      ctx.log.child('probes'),
    );
    const sandbox: SandboxSettings = { image: cfg.sandbox.image, command: cfg.sandbox.command, network: cfg.network };
    this.rec = new Reconciler({
      engine: this.engine,
      store,
      lookups: storeLookups(store.resources),
      probes: this.probes,
      dataDir: config.dataDir,
      nodeName: config.node.name,
      sandbox,
      timing: {
        crashLoop: { initialMs: cfg.crashLoop.initialSeconds * 1000, maxMs: cfg.crashLoop.maxSeconds * 1000, resetMs: cfg.crashLoop.resetSeconds * 1000 },
        pullBackoff: { initialMs: cfg.pullBackoff.initialSeconds * 1000, maxMs: cfg.pullBackoff.maxSeconds * 1000 },
      },
      reportStatus: async (key, status) => {
        await ctx.bus.request('metamanager', { type: 'status.report', key, status });
      },
      now: () => ctx.services.now().getTime(),
      log: ctx.log,
      issueToken: (pod, serviceAccount) => ctx.bus.request('metamanager', { type: 'serviceaccount.issue', pod, serviceAccount }),
    });
    this.sessions = new PodSessions({ engine: this.engine, resources: store.resources, find: (r, p) => this.find(r, p), logs: (m) => this.logs(m), log: ctx.log.child('sessions') });
    ctx.bus.serve((msg: NodeMessage) => this.handle(msg as EdgedMessage));
    this.unsubscribe = ctx.bus.subscribe('resource.changed', (m) => {
      if (m.change.op !== 'status' && STATIC_KINDS.includes(m.change.resource.kind)) this.trigger('desired');
    });
    this.resync = setInterval(() => this.trigger('resync'), cfg.resyncSeconds * 1000);
    this.resync.unref();
    void this.watchEvents(this.abort.signal);
    if (cfg.staticPodPath) await this.startStatic(cfg.staticPodPath, cfg.staticPodScanSeconds);
    this.trigger('start');
  }

  private async startStatic(dir: string, scanSeconds: number): Promise<void> {
    const ctx = this.ctx!;
    const sp = new StaticPods(
      dir,
      async (items) => {
        await ctx.bus.request('metamanager', { type: 'desired.replace', origin: 'static', kinds: STATIC_KINDS, items });
        ctx.log.info('static pods applied', { dir, objects: items.length });
      },
      (file, err) => ctx.log.error('static pod file refused', { file, error: errorMessage(err) }),
    );
    let scanning = Promise.resolve();
    const scan = (): void => {
      scanning = scanning.then(() => sp.scan()).catch((e) => ctx.log.warn('static pod scan failed', { dir, error: errorMessage(e) }));
    };
    scan();
    await scanning;
    this.staticTimer = setInterval(scan, scanSeconds * 1000);
    this.staticTimer.unref();
    try {
      // Files often change in bursts (an editor, a deploy script): apply each burst as one set.
      this.watcher = watch(dir, () => {
        clearTimeout(this.burst);
        this.burst = setTimeout(scan, 100);
      });
      this.watcher.on('error', () => undefined);
    } catch {
      /* folder absent: the periodic scan picks it up */
    }
  }

  /** Docker events for our containers; reconnects with backoff (engine restarts, missing socket). */
  private async watchEvents(signal: AbortSignal): Promise<void> {
    let attempt = 0;
    while (!signal.aborted) {
      try {
        await this.engine!.events(() => this.trigger('event'), signal);
        attempt = 0;
      } catch {
        attempt++;
      }
      if (signal.aborted) return;
      this.trigger('events-reconnect');
      await sleep(backoffDelay(RETRY, attempt), signal).catch(() => undefined);
    }
  }

  /** Ask for a pass soon; passes never overlap (a request during one runs right after it). */
  trigger(reason: string): void {
    if (!this.abort || this.abort.signal.aborted) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      this.running = this.pass(reason).finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.trigger('again');
        }
      });
    }, 30);
  }

  private async pass(reason: string): Promise<void> {
    const log = this.ctx!.log;
    clearTimeout(this.retry);
    try {
      const r = await this.rec!.pass();
      this.ctx!.services.metrics.count('reconcile_passes_total', { result: r.errors.length ? 'step_errors' : 'ok' });
      if (this.engineDown) {
        this.engineDown = false;
        this.ctx!.services.store.meta.set('edged.engine', 'up');
        log.info('docker engine reachable again; converging');
      }
      if (r.steps) log.debug('pass done', { reason, steps: r.steps, errors: r.errors.length });
      this.failures = r.errors.length ? this.failures + 1 : 0;
      if (r.errors.length) this.schedule('retry', backoffDelay(RETRY, this.failures - 1));
      if (r.pending && !r.errors.length && this.pendingRounds++ < 3) this.again = true;
      else if (!r.pending) this.pendingRounds = 0;
      clearTimeout(this.wake);
      if (r.wakeAt !== undefined) {
        this.wake = setTimeout(() => this.trigger('backoff-expired'), Math.max(0, r.wakeAt - Date.now()) + 20);
        this.wake.unref();
      }
    } catch (e) {
      this.ctx!.services.metrics.count('reconcile_passes_total', { result: 'failed' });
      this.failures++;
      if (!this.engineDown) {
        this.engineDown = true;
        try {
          this.ctx!.services.store.meta.set('edged.engine', 'down');
        } catch {
          /* store closing */
        }
      }
      log.warn('reconcile failed; retrying', { reason, error: errorMessage(e), attempt: this.failures });
      this.schedule('retry', backoffDelay(RETRY, this.failures - 1));
    }
  }

  private schedule(reason: string, ms: number): void {
    clearTimeout(this.retry);
    this.retry = setTimeout(() => this.trigger(reason), ms);
    this.retry.unref();
  }

  private async handle(msg: EdgedMessage): Promise<unknown> {
    switch (msg.type) {
      case 'edged.resync':
        this.trigger('request');
        return undefined;
      case 'pod.logs':
        return this.logs(msg).catch(asAnswer);
      case 'pod.exec':
        return this.exec(msg).catch(asAnswer);
      case 'pod.stream':
        return this.sessions!.open(msg.request);
      default:
        return undefined;
    }
  }

  /** The container a request names: latest attempt (or the previous one) of that pod's container. */
  private async find(ref: PodRef, previous = false): Promise<{ c: ObservedContainer; tty: boolean }> {
    if (!ref?.namespace || !ref.name) throw new ValidationError([{ path: 'pod', reason: 'namespace and name are required' }], 'request');
    const r = this.ctx!.services.store.resources.get<{ spec?: { containers?: { name: string; tty?: boolean }[] } }>({ kind: 'Pod', namespace: ref.namespace, name: ref.name });
    if (!r) throw new NotFoundError(`pod ${ref.namespace}/${ref.name}`);
    const containers = r.spec.spec?.containers ?? [];
    const name = ref.container ?? containers[0]?.name;
    const spec = containers.find((c) => c.name === name);
    const all = (await this.engine!.observe())
      .filter((c) => c.podUid === r.uid && c.container === name && c.role !== 'sandbox')
      .sort((a, b) => b.attempt - a.attempt);
    const c = previous ? all[1] : all[0];
    if (!c) throw new NotFoundError(`${previous ? 'previous ' : ''}container ${name ?? '(none)'} of pod ${ref.namespace}/${ref.name}`);
    return { c, tty: spec?.tty ?? false };
  }

  private async logs(msg: Extract<EdgedMessage, { type: 'pod.logs' }>): Promise<PodLogsReply> {
    const { c, tty } = await this.find(msg.pod, msg.previous);
    const stream = await this.engine!.logs(c.id, {
      ...(msg.tail !== undefined ? { tail: msg.tail } : {}),
      ...(msg.sinceSeconds !== undefined ? { sinceSeconds: msg.sinceSeconds } : {}),
      follow: msg.follow ?? false,
      timestamps: msg.timestamps ?? false,
      tty,
    });
    return { container: c.container, containerId: c.id, stream };
  }

  private async exec(msg: Extract<EdgedMessage, { type: 'pod.exec' }>): Promise<PodExecReply> {
    if (!Array.isArray(msg.command) || msg.command.length === 0) throw new ValidationError([{ path: 'command', reason: 'must be a non-empty list' }], 'pod.exec');
    const { c } = await this.find(msg.pod);
    if (c.state !== 'running') throw new ValidationError([{ path: 'pod', reason: `container ${c.container} is not running (${c.state})` }], 'pod.exec');
    return this.engine!.exec(c.id, msg.command, msg.stdin, (msg.timeoutSeconds ?? 30) * 1000);
  }

  async stop(): Promise<void> {
    this.abort?.abort();
    for (const t of [this.debounce, this.wake, this.retry, this.burst]) clearTimeout(t);
    clearInterval(this.resync);
    clearInterval(this.staticTimer);
    this.watcher?.close();
    this.unsubscribe?.();
    this.probes?.stopAll();
    await this.sessions?.closeAll();
    await this.running?.catch(() => undefined);
  }
}
