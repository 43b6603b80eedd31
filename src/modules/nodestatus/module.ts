/**
 * nodestatus: what the node is and how it is doing. Every `periodSeconds` it samples the kernel
 * (CPU, memory, load, processes, SoC temperature, boot time), the data dir's and Docker's root's
 * filesystems, the Raspberry Pi firmware's throttled flags, and whether the container engine
 * answers (edged's word when it runs: it watches the engine and records what it finds, and a
 * change is reported at once — `node.runtime.changed`); the slow facts (OS, kernel, machine ids, runtime version) are read at start and then
 * every `factsSeconds`. From these it finds the conditions (MemoryPressure, DiskPressure,
 * PIDPressure, UnderVoltage, Throttled) and capacity/allocatable. Only a change goes up: a new
 * fact or condition, or a figure past its deadband — through the uplink's `reportHost`, which
 * also keeps the node's own Node object the MetaServer serves.
 */
import type { NodeMetricsReport, PodUsage } from '../../contract/metrics.js';
import type { NodeCondition, NodeHostReport, NodeUsage } from '../../contract/node-status.js';
import { errorMessage } from '../../core/errors.js';
import { sameJson } from '../../lib/json.js';
import type { NodeContext, NodeModule } from '../../node/services.js';
import { nodeRuntime } from '../../store/node-runtime.js';
import { findConditions, usageMoved, withTransitions } from './conditions.js';
import type { AddressRules } from './addresses.js';
import { readEngineNetworks, readFacts, readRuntime, type Facts, type RuntimeFacts } from './facts.js';
import { nodeManifest, nodeStatus } from './node-object.js';
import { metricsMoved, metricsReport } from './usage.js';
import { busyCores, sampleDisk, sampleKernel, sampleThrottled, type CpuTimes, type ThermalCache } from './sampler.js';

/** how long a period waits for edged's reading of its containers */
const USAGE_TIMEOUT_MS = 10_000;

export class NodeStatus implements NodeModule {
  readonly name = 'nodestatus';
  readonly group = 'status';
  private ctx?: NodeContext;
  private timer?: NodeJS.Timeout;
  private facts?: Facts;
  private factsAt = 0;
  private runtime?: RuntimeFacts;
  private cpu?: CpuTimes;
  /** what the last report carried: the next goes up when one of these changed */
  private sent?: Pick<NodeHostReport, 'system' | 'runtime' | 'conditions'> & { usage: NodeUsage };
  private conditions?: NodeCondition[];
  private ready?: { ready: boolean; since: string };
  private running?: Promise<void>;
  private last?: NodeHostReport;
  private unsubscribe?: () => void;
  private usageSent?: NodeMetricsReport;
  private usageAt?: number;
  private readonly thermal: ThermalCache = {};

  async start(ctx: NodeContext): Promise<void> {
    this.ctx = ctx;
    const prev = ctx.services.uplink.host();
    this.conditions = prev.conditions;
    this.cpu = (await sampleKernel(this.procfs(), ctx.services.config.paths.sysfs, this.thermal)).cpu;
    await new Promise((r) => setTimeout(r, 250));
    await this.tick();
    const every = ctx.services.config.modules.nodestatus.periodSeconds * 1000;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.tick()
        .then(() => undefined)
        .catch((e) => ctx.log.warn('node status sample failed', { error: errorMessage(e) }))
        .finally(() => (this.running = undefined));
    }, every);
    this.timer.unref();
    this.unsubscribe = ctx.bus.subscribe('node.runtime.changed', () => {
      if (this.last) this.send({ ...this.last, ...this.runtimeReport() }, ctx.services.now());
    });
  }

  /**
   * Can the node run pods: edged's record when it has made one (it watches the engine, so it
   * knows first), else this module's own ask of the engine; absent when edged is off.
   */
  private runtimeReport(): Pick<NodeHostReport, 'runtime'> {
    const recorded = nodeRuntime(this.ctx!.services.store.meta);
    if (recorded) return { runtime: recorded };
    return this.runtime ? { runtime: { ready: this.runtime.ready, ...(this.runtime.message ? { message: this.runtime.message } : {}) } } : {};
  }

  /** What is never reported as an address: the configured rules, the mesh's interface and ranges, the engine's networks. */
  private async addressRules(): Promise<AddressRules> {
    const { config } = this.ctx!.services;
    const a = config.modules.nodestatus.addresses;
    const mesh = config.modules.mesh;
    const engine = config.modules.edged.enabled ? await readEngineNetworks(config.paths.dockerSocket) : { interfaces: [], subnets: [] };
    return {
      pinned: a.pinned,
      excludeInterfaces: [...a.excludeInterfaces, mesh.interface, ...engine.interfaces],
      excludeCIDRs: [...a.excludeCIDRs, mesh.serviceCIDR, `${mesh.dns.address}/32`, ...engine.subnets],
    };
  }

  private procfs(): string {
    return this.ctx!.services.config.paths.procfs;
  }

  /** One sample; reports when something changed. Returns the host report built. */
  async tick(): Promise<NodeHostReport> {
    const ctx = this.ctx!;
    const { config, metrics, now } = ctx.services;
    const cfg = config.modules.nodestatus;
    const at = now();
    if (!this.facts || at.getTime() - this.factsAt >= cfg.factsSeconds * 1000) {
      this.facts = readFacts(await this.addressRules(), { procfs: this.procfs(), sysfs: config.paths.sysfs });
      this.factsAt = at.getTime();
      this.thermal.file = undefined; // a thermal zone whose driver loaded late is found here
      if (config.modules.edged.enabled) this.runtime = await readRuntime(config.paths.dockerSocket, true);
    } else if (config.modules.edged.enabled) {
      const r = await readRuntime(config.paths.dockerSocket, !this.runtime?.rootDir);
      this.runtime = { ...r, ...(r.version ? {} : this.runtime?.version ? { version: this.runtime.version } : {}), ...(r.rootDir ? {} : this.runtime?.rootDir ? { rootDir: this.runtime.rootDir } : {}) };
    }
    const k = await sampleKernel(this.procfs(), config.paths.sysfs, this.thermal);
    const cores = busyCores(this.cpu ?? k.cpu, k.cpu, this.facts.cpus);
    this.cpu = k.cpu;
    const disks: NodeUsage['disks'] = [];
    const data = await sampleDisk(config.dataDir);
    if (data) disks.push({ role: 'data', path: config.dataDir, ...data });
    const root = this.runtime?.rootDir;
    if (root) {
      const d = await sampleDisk(root);
      if (d) disks.push({ role: 'docker', path: root, ...d });
    }
    const throttled = await sampleThrottled(cfg.throttledFile || `${config.paths.sysfs}/devices/platform/soc/soc:firmware/get_throttled`).catch((e) => {
      ctx.log.debug('throttled flags unreadable', { error: errorMessage(e) });
      return undefined;
    });
    const usage: NodeUsage = {
      cpuCores: Math.round(cores * 1000) / 1000,
      memory: k.memory,
      disks,
      load: k.load,
      processes: k.processes,
      ...(k.temperatureC !== undefined ? { temperatureC: k.temperatureC } : {}),
      bootTime: new Date(k.bootTime).toISOString(),
      ...(throttled ? { throttled } : {}),
    };
    this.conditions = withTransitions(findConditions(usage, cfg.thresholds), this.conditions, at);
    const f = this.facts;
    const storage = data?.totalBytes;
    const r = cfg.reserved;
    const host: NodeHostReport = {
      system: {
        hostname: f.hostname,
        osImage: f.osImage,
        kernelVersion: f.kernelVersion,
        ...(this.runtime?.version ? { containerRuntimeVersion: this.runtime.version } : {}),
        ...(f.machineID ? { machineID: f.machineID } : {}),
        ...(f.systemUUID ? { systemUUID: f.systemUUID } : {}),
        addresses: f.addresses,
        cpus: f.cpus,
        memoryBytes: k.memory.totalBytes,
        ...(storage !== undefined ? { ephemeralStorageBytes: storage } : {}),
        maxPods: cfg.maxPods,
        allocatable: {
          cpuMillis: Math.max(0, f.cpus * 1000 - r.cpuMillis),
          memoryBytes: Math.max(0, k.memory.totalBytes - r.memoryBytes),
          ...(storage !== undefined ? { ephemeralStorageBytes: Math.max(0, storage - r.ephemeralStorageBytes) } : {}),
        },
      },
      ...(config.modules.edged.enabled ? this.runtimeReport() : {}),
      conditions: this.conditions,
      usage,
    };
    metrics.count('node_status_samples_total', {});
    this.send(host, at);
    if (cfg.metrics.enabled) await this.sendUsage(usage, at);
    return host;
  }

  /** The usage report for `kubectl top`: the node's figures and edged's reading of its pods, sent when one moved. */
  private async sendUsage(usage: NodeUsage, at: Date): Promise<void> {
    const { config, uplink } = this.ctx!.services;
    const cfg = config.modules.nodestatus;
    let pods: PodUsage[] = [];
    if (config.modules.edged.enabled) {
      try {
        pods = await this.ctx!.bus.request('edged', { type: 'pod.usage' }, USAGE_TIMEOUT_MS);
      } catch (e) {
        this.ctx!.log.debug('pod usage unreadable; no usage report this period', { error: errorMessage(e) });
        return;
      }
    }
    const window = this.usageAt ? (at.getTime() - this.usageAt) / 1000 : cfg.periodSeconds;
    this.usageAt = at.getTime();
    const report = metricsReport(usage, pods, Math.min(3600, Math.max(0.1, window)), at);
    if (!metricsMoved(this.usageSent, report, { cpuNanoCores: cfg.metrics.cpuMillicores * 1e6, memoryBytes: cfg.metrics.memoryBytes })) return;
    uplink.reportMetrics(report);
    this.usageSent = report;
  }

  /** Report the host when something changed: a fact, a condition, the runtime, or a figure past its deadband. */
  private send(host: NodeHostReport, at: Date): void {
    const { config, uplink, metrics } = this.ctx!.services;
    const cfg = config.modules.nodestatus;
    const usage = host.usage!;
    this.last = host;
    // compared where they are, not written out as JSON to compare (that was a fifth of a sample's allocation)
    const s = this.sent;
    if (!s || !sameJson(s.system, host.system) || !sameJson(s.runtime, host.runtime) || !sameJson(s.conditions, host.conditions) || usageMoved(s.usage, usage, cfg.deadbands)) {
      const ready = host.runtime?.ready ?? true;
      if (!this.ready || this.ready.ready !== ready) this.ready = { ready, since: at.toISOString().replace(/\.\d{3}Z$/, 'Z') };
      uplink.reportHost(host, { manifest: nodeManifest(config.node.name, config.node.labels), status: nodeStatus(host, this.ctx!.services.version, at, this.ready.since) });
      this.sent = { system: host.system, runtime: host.runtime, conditions: host.conditions, usage };
      metrics.count('node_status_reports_total', {});
    }
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    clearInterval(this.timer);
    await this.running;
  }
}
