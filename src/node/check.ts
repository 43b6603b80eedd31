/**
 * `edgecore check`: diagnose the host before (or instead of) running. Each check says OK or
 * FAIL and, when failing, how to fix it. It changes nothing: no directory is created, ports are
 * only probed. A node already running with the same data dir is recognised by its run record
 * (src/node/runstate.ts), so a port that node holds is not reported as taken by something else.
 * Pure of output: the CLI prints the results.
 */
import { accessSync, constants, existsSync, readdirSync, statSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { dirname, join } from 'node:path';
import type { EdgecoreConfig } from '../config/schema.js';
import { errorMessage } from '../core/errors.js';
import { findPortHolder } from '../lib/ports.js';
import { ioUringProblem } from '../lib/runtime.js';
import { nodeStatusChecks } from './check-status.js';
import { readRunningNode, type NodeRunState } from './runstate.js';

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
  /** a failed optional check is reported but does not fail `edgecore check` */
  optional?: boolean;
}

const writable = (p: string): boolean => {
  try {
    accessSync(p, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** Writable if it exists, else creatable (its nearest existing parent is writable); nothing is created. */
function checkDataDir(dir: string, running: NodeRunState | undefined): CheckResult {
  const name = 'data dir';
  const fix = 'create it and give the edgecore user write access, or set dataDir';
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) return { name, ok: false, detail: `${dir} is not a directory`, fix };
    if (!writable(dir)) return { name, ok: false, detail: `${dir} is not writable by this user`, fix };
    return { name, ok: true, detail: `${dir} is writable${running ? ` (in use by the running edgecore, pid ${running.pid})` : ''}` };
  }
  let parent = dirname(dir);
  while (!existsSync(parent) && parent !== dirname(parent)) parent = dirname(parent);
  return writable(parent)
    ? { name, ok: true, detail: `${dir} does not exist yet; edgecore run creates it (${parent} is writable)` }
    : { name, ok: false, detail: `${dir} does not exist and ${parent} is not writable by this user`, fix };
}

async function checkDocker(socketPath: string, enabled: boolean): Promise<CheckResult> {
  const name = 'docker';
  if (!existsSync(socketPath)) {
    return { name, ok: false, optional: !enabled, detail: `no socket at ${socketPath}`, fix: enabled
        ? 'install and start Docker (apt-get install docker.io), or set paths.dockerSocket; on a board without containers set modules.edged.enabled: false'
        : 'not needed: edged is disabled' };
  }
  try {
    const { DockerApi } = await import('../modules/edged/docker-api.js');
    const api = new DockerApi(socketPath);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no answer within 3 s')), 3000)));
    const v = await Promise.race([api.json<{ Version: string; ApiVersion: string }>({ method: 'GET', path: '/version' }), timeout]).finally(() => {
      clearTimeout(timer);
      api.close();
    });
    return { name, ok: true, detail: `engine ${v.Version}, API ${v.ApiVersion} at ${socketPath}` };
  } catch (e) {
    return { name, ok: false, optional: !enabled, detail: `${socketPath}: ${errorMessage(e)}`, fix: 'start dockerd, and add the edgecore user to the docker group; on a board without containers set modules.edged.enabled: false' };
  }
}

function checkGpio(sysfs: string): CheckResult {
  const dir = join(sysfs, 'class/gpio');
  if (!existsSync(dir)) return { name: 'gpio', ok: false, optional: true, detail: `${dir} absent`, fix: 'kernel without GPIO sysfs (CONFIG_GPIO_SYSFS), or set paths.sysfs' };
  const chips = readdirSync(dir).filter((f) => f.startsWith('gpiochip'));
  try {
    accessSync(join(dir, 'export'), constants.W_OK);
    return { name: 'gpio', ok: true, detail: `${chips.length} chip(s) under ${dir}, export writable` };
  } catch {
    return { name: 'gpio', ok: false, optional: true, detail: `${dir}/export not writable`, fix: 'add the edgecore user to the gpio group' };
  }
}

function checkDevices(dev: string, name: string, pattern: RegExp, group: string): CheckResult {
  let found: string[] = [];
  try {
    found = readdirSync(dev).filter((f) => pattern.test(f));
  } catch (e) {
    return { name, ok: false, optional: true, detail: `${dev}: ${errorMessage(e)}`, fix: 'set paths.dev' };
  }
  if (found.length === 0) return { name, ok: false, optional: true, detail: `no ${pattern.source} under ${dev}`, fix: name === 'i2c' ? 'enable I2C (raspi-config / dtparam=i2c_arm=on) and load i2c-dev' : 'connect the adapter' };
  const denied = found.filter((f) => {
    try {
      accessSync(join(dev, f), constants.R_OK | constants.W_OK);
      return false;
    } catch {
      return true;
    }
  });
  if (denied.length) return { name, ok: false, optional: true, detail: `no access to ${denied.join(', ')}`, fix: `add the edgecore user to the ${group} group` };
  return { name, ok: true, detail: found.join(', ') };
}

function tcpReachable(host: string, port: number, timeoutMs = 2000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const t = setTimeout(() => {
      s.destroy();
      resolve('timed out');
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      s.end();
      resolve(undefined);
    });
    s.once('error', (e) => {
      clearTimeout(t);
      resolve(errorMessage(e));
    });
  });
}

function portFree(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', (e) => resolve(errorMessage(e)));
    srv.listen(port, host, () => srv.close(() => resolve(undefined)));
  });
}

/**
 * A port the node will listen on: free, held by the node already running with this data dir
 * (fine), or held by something else (named when /proc shows it).
 */
async function checkPort(name: string, host: string, port: number, field: string, running: NodeRunState | undefined): Promise<CheckResult> {
  if (port === 0) return { name, ok: true, detail: `${host}: any free port (${field}: 0)` };
  const err = await portFree(host, port);
  if (!err) return { name, ok: true, detail: `can listen on ${host}:${port}` };
  if (running?.listening.some((l) => l.port === port)) {
    return { name, ok: true, detail: `${host}:${port} is held by this node (edgecore pid ${running.pid}, running with this data dir)` };
  }
  const holder = findPortHolder(port);
  const who = holder ? `pid ${holder.pid}${holder.command ? ` (${holder.command})` : ''}` : 'something else';
  return { name, ok: false, detail: `cannot listen on ${host}:${port}: held by ${who} (${err})`, fix: `stop what holds the port, or set ${field}` };
}

async function checkBroker(cfg: EdgecoreConfig, running: NodeRunState | undefined): Promise<CheckResult> {
  const eb = cfg.modules.eventbus;
  if (!eb.enabled) return { name: 'eventbus broker', ok: true, detail: 'eventbus disabled' };
  if (eb.mode === 'embedded') return checkPort('eventbus broker', eb.host, eb.port, 'modules.eventbus.port', running);
  const u = new URL(eb.url);
  const err = await tcpReachable(u.hostname, Number(u.port || 1883));
  return err
    ? { name: 'eventbus broker', ok: false, detail: `${eb.url}: ${err}`, fix: 'start the broker, or use mode: embedded' }
    : { name: 'eventbus broker', ok: true, detail: `${eb.url} reachable` };
}

/** The MetaServer's HTTPS port (the node's Kubernetes API); its unix socket needs no port. */
async function checkMetaServer(cfg: EdgecoreConfig, running: NodeRunState | undefined): Promise<CheckResult> {
  const mm = cfg.modules.metamanager;
  if (!mm.enabled || !mm.api.enabled) return { name: 'MetaServer', ok: true, detail: 'disabled' };
  return checkPort('MetaServer', mm.api.host, mm.api.port, 'modules.metamanager.api.port', running);
}

async function checkRelay(cfg: EdgecoreConfig): Promise<CheckResult> {
  const hub = cfg.modules.edgehub;
  if (!hub.enabled) return { name: 'relay', ok: true, optional: true, detail: 'not joined (edgehub disabled): the node runs standalone' };
  const u = new URL(hub.relay.url);
  const port = Number(u.port || (u.protocol === 'mqtts:' ? 8883 : 1883));
  const err = await tcpReachable(u.hostname, port);
  return err
    ? { name: 'relay', ok: false, optional: true, detail: `${hub.relay.url}: ${err} (the node keeps running offline)`, fix: 'check the network, or the relay URL' }
    : { name: 'relay', ok: true, detail: `${hub.relay.url} reachable` };
}

export function checkRuntime(version: string, env: Record<string, string | undefined>): CheckResult {
  const name = 'node runtime';
  const p = ioUringProblem(version, env);
  if (p) return { name, ok: false, optional: true, ...p };
  return { name, ok: true, detail: `node ${version}` };
}

export async function runChecks(cfg: EdgecoreConfig): Promise<CheckResult[]> {
  const running = readRunningNode(cfg.dataDir);
  return [
    checkRuntime(process.version, process.env),
    checkDataDir(cfg.dataDir, running),
    await checkDocker(cfg.paths.dockerSocket, cfg.modules.edged.enabled),
    checkGpio(cfg.paths.sysfs),
    checkDevices(cfg.paths.dev, 'i2c', /^i2c-\d+$/, 'i2c'),
    checkDevices(cfg.paths.dev, 'serial', /^tty(USB|ACM|AMA|S)\d+$/, 'dialout'),
    await checkBroker(cfg, running),
    await checkMetaServer(cfg, running),
    cfg.ops.enabled ? await checkPort('ops endpoint', cfg.ops.host, cfg.ops.port, 'ops.port', running) : { name: 'ops endpoint', ok: true, detail: 'disabled' },
    await checkRelay(cfg),
    ...(cfg.modules.nodestatus.enabled ? await nodeStatusChecks(cfg) : []),
  ];
}
