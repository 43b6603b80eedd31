/**
 * edged: runs the node's pods on the local Docker engine. One reconcile pass at a time, triggered
 * by desired changes (`resource.changed`), Docker events, probe results, backoff expiries and a
 * periodic resync; failures retry with capped backoff. Containers outlive the daemon and are
 * adopted on the next start. Serves `pod.logs` / `pod.exec` / `pod.stream` / `edged.resync` on the bus.
 */
import { watch, type FSWatcher } from 'node:fs';
import { availableParallelism, arch, totalmem } from 'node:os';
import { statfsSync } from 'node:fs';
import { sleep } from '../../core/backoff.js';
import { setNodeRuntime } from '../../store/node-runtime.js';
import { ConflictError, errorMessage, hasStatus, NotFoundError, ValidationError } from '../../core/errors.js';
import type { NodeMessage } from '../../node/messages.js';
import type { NodeContext, NodeModule } from '../../node/services.js';
import { storeLookups, type SandboxSettings } from './desired.js';
import { nodeLabels, type NodeInfo } from './downward.js';
import { Engine } from './engine.js';
import { EngineWatch } from './engine-watch.js';
import { EventThrottle, type PodEventSink } from './events.js';
import type { EdgedMessage, PodExecReply, PodLogsReply, PodRef } from './messages.js';
import type { ObservedContainer } from './model.js';
import { ProbeManager } from './probes.js';
import { Reconciler } from './reconciler.js';
import { PassRunner } from './runner.js';
import { PodSessions } from './sessions.js';
import { STATIC_KINDS, StaticPods } from './static.js';
import { CgroupUsage } from './cgroup-usage.js';
import { ContainerUsage, readingOf, type ContainerReading } from './usage.js';

const RETRY = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.2 };

/** The node as pods see it (Downward API, resource defaults, node affinity). */
function nodeInfo(name: string, labels: Record<string, string>, dataDir: string): NodeInfo {
  let storageBytes = 0;
  try {
    const st = statfsSync(dataDir);
    storageBytes = st.blocks * st.bsize;
  } catch {
    /* not there yet */
  }
  return { name, labels: nodeLabels(name, arch(), labels), cpus: availableParallelism(), memoryBytes: totalmem(), storageBytes };
}

/** Engine answers about a request's container (gone, not running) are answers, not module failures. */
function asAnswer(e: unknown): never {
  if (hasStatus(e, 404)) throw new NotFoundError(`container (${errorMessage(e)})`);
  if (hasStatus(e, 409)) throw new ConflictError(errorMessage(e));
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
  private runner?: PassRunner;
  private watch?: EngineWatch;
  private resync?: NodeJS.Timeout;
  private staticTimer?: NodeJS.Timeout;
  private watcher?: FSWatcher;
  private burst?: NodeJS.Timeout;
  private unsubscribe?: () => void;
  private sessions?: PodSessions;
  private readonly usage = new ContainerUsage();
  private cgroups?: CgroupUsage;

  async start(ctx: NodeContext): Promise<void> {
    this.ctx = ctx;
    const { config, store } = ctx.services;
    const cfg = config.modules.edged;
    this.abort = new AbortController();
    this.engine = new Engine(config.paths.dockerSocket, config.node.name);
    // the kubelet's events go up as they happen (the relay shows them in `kubectl describe pod`)
    const throttle = new EventThrottle(() => ctx.services.now().getTime());
    const events: PodEventSink = (pod, event) => {
      if (!throttle.allow(pod, event)) return;
      try {
        ctx.bus.send('metamanager', { type: 'event.report', key: { kind: 'Pod', namespace: pod.namespace, name: pod.name }, event: { ...event, component: 'kubelet', uid: pod.uid } });
      } catch {
        /* metamanager restarting: an event is droppable */
      }
    };
    this.probes = new ProbeManager(
      async (id, cmd, timeoutMs) => {
        const r = await this.engine!.exec(id, cmd, undefined, timeoutMs);
        return { exitCode: r.exitCode, output: `${r.stdout}${r.stderr}` };
      },
      () => this.trigger('probe'),
      ctx.log.child('probes'),
      events,
    );
    const mesh = config.modules.mesh;
    const sandbox: SandboxSettings = {
      image: cfg.sandbox.image,
      command: cfg.sandbox.command,
      network: cfg.network,
      skipForSingleContainer: cfg.sandbox.skipForSingleContainer,
      ...(mesh.enabled && mesh.dns.enabled ? { clusterDns: { address: mesh.dns.address, domain: mesh.dns.clusterDomain } } : {}),
    };
    this.rec = new Reconciler({
      engine: this.engine,
      store,
      lookups: storeLookups(store.resources),
      probes: this.probes,
      dataDir: config.dataDir,
      node: nodeInfo(config.node.name, config.node.labels, config.dataDir),
      sandbox,
      timing: {
        crashLoop: { initialMs: cfg.crashLoop.initialSeconds * 1000, maxMs: cfg.crashLoop.maxSeconds * 1000, resetMs: cfg.crashLoop.resetSeconds * 1000 },
        pullBackoff: { initialMs: cfg.pullBackoff.initialSeconds * 1000, maxMs: cfg.pullBackoff.maxSeconds * 1000 },
      },
      podRetry: RETRY,
      reportStatus: async (key, status) => {
        await ctx.bus.request('metamanager', { type: 'status.report', key, status });
      },
      workDone: (failed) => {
        if (failed) ctx.services.metrics.count('reconcile_passes_total', { result: 'step_errors' });
        this.trigger('pod-work-done');
      },
      now: () => ctx.services.now().getTime(),
      log: ctx.log,
      issueToken: (pod, serviceAccount) => ctx.bus.request('metamanager', { type: 'serviceaccount.issue', pod, serviceAccount }),
      events,
    });
    const rec = this.rec;
    this.watch = new EngineWatch({
      ping: () => this.engine!.ping(),
      socketPath: config.paths.dockerSocket,
      intervalMs: 500,
      onAway: (reason) => this.engineState(false, reason),
      onBack: () => this.engineState(true),
    });
    this.runner = new PassRunner({
      pass: async (reason) => {
        const r = await rec.pass();
        ctx.services.metrics.count('reconcile_passes_total', { result: 'ok' });
        if (r.dispatched) ctx.log.debug('pass done', { reason, podsGivenWork: r.dispatched });
        return r.wakeAt !== undefined ? { wakeAt: r.wakeAt } : {};
      },
      // a pass reached the engine: a runtime state left at not-ready by an earlier run is corrected
      onDone: () => {
        if (this.watch!.isUp && setNodeRuntime(ctx.services.store.meta, { ready: true })) ctx.bus.publish({ type: 'node.runtime.changed' });
      },
      onThrow: (reason, e, attempt) => {
        ctx.services.metrics.count('reconcile_passes_total', { result: 'failed' });
        // Still away: pods applied meanwhile get a status saying so too.
        if (!this.watch!.lost(errorMessage(e))) void rec.engineAway(this.awayMessage(errorMessage(e))).catch(() => undefined);
        if (attempt === 1) ctx.log.warn('reconcile failed; retrying', { reason, error: errorMessage(e) });
      },
      retry: RETRY,
      // a burst of triggers (a desired document, Docker events) in 10 ms makes one pass
      debounceMs: 10,
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

  /**
   * Docker events for our containers. The stream ending is the first sign of an engine shutting
   * down (dockerd closes its API before stopping containers): nothing more is sent to it until it
   * answers again, then the stream reconnects at once.
   */
  private async watchEvents(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.watch!.whenUp();
      if (signal.aborted) return;
      const began = Date.now();
      let why = 'its events stream ended';
      try {
        await this.engine!.events(() => this.trigger('event'), signal);
      } catch (e) {
        why = errorMessage(e);
      }
      if (signal.aborted) return;
      this.watch!.lost(why);
      this.trigger('events-reconnect');
      // A stream that keeps ending while the engine answers (not a restart): do not spin.
      if (Date.now() - began < 1000) await sleep(1000, signal).catch(() => undefined);
    }
  }

  /** Ask for a pass soon. */
  trigger(reason: string): void {
    this.runner?.trigger(reason);
  }

  /**
   * The engine went away or came back: meta `edged.engine`, the node condition
   * ContainerRuntimeReady (edgehub reports it upstream), pod statuses, and a pass when it is back.
   */
  private awayMessage(reason: string): string {
    return `docker engine at ${this.ctx!.services.config.paths.dockerSocket} does not answer: ${reason}`;
  }

  private engineState(up: boolean, reason = ''): void {
    const ctx = this.ctx!;
    const socket = ctx.services.config.paths.dockerSocket;
    const message = up ? `docker engine at ${socket} answers` : this.awayMessage(reason);
    try {
      const { meta } = ctx.services.store;
      meta.set('edged.engine', up ? 'up' : 'down');
      if (setNodeRuntime(meta, up ? { ready: true } : { ready: false, message })) ctx.bus.publish({ type: 'node.runtime.changed' });
    } catch {
      /* store closing */
    }
    if (up) {
      ctx.log.info('docker engine answers again; converging', { socket });
      this.rec!.engineBack();
      this.trigger('engine-back');
    } else {
      ctx.log.warn('docker engine does not answer; nothing is started until it does', { socket, reason });
      void this.rec!.engineAway(message).catch(() => undefined);
    }
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
      case 'pod.usage':
        return this.podUsage();
      default:
        return undefined;
    }
  }

  /** `kubectl top`'s figures: each running container's cgroup files where this process can read them, else the engine's stats. */
  private async podUsage(): Promise<unknown> {
    const containers = await this.engine!.observe();
    const cgroups = (this.cgroups ??= new CgroupUsage({ procfs: this.ctx!.services.config.paths.procfs, now: () => this.ctx!.services.now().getTime() }));
    cgroups.keep(new Set(containers.filter((c) => c.state === 'running').map((c) => c.id)));
    const read = async (c: ObservedContainer): Promise<ContainerReading | undefined> => cgroups.read(c.id, c.pid) ?? readingOf(await this.engine!.stats(c.id));
    return this.usage.sample(containers, read);
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
    clearTimeout(this.burst);
    clearInterval(this.resync);
    clearInterval(this.staticTimer);
    this.watcher?.close();
    this.unsubscribe?.();
    this.probes?.stopAll();
    await this.sessions?.closeAll();
    this.watch?.stop();
    await this.runner?.stop();
    this.engine?.close();
  }
}
