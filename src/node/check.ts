/**
 * `edgecore check`: diagnose the host before (or instead of) running. Each check says OK or
 * FAIL and, when failing, how to fix it. Pure of output: the CLI prints the results.
 */
import { accessSync, constants, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import type { EdgecoreConfig } from '../config/schema.js';
import { errorMessage } from '../core/errors.js';
import { ioUringProblem } from '../lib/runtime.js';
import { nodeStatusChecks } from './check-status.js';

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
  /** a failed optional check is reported but does not fail `edgecore check` */
  optional?: boolean;
}

function checkDataDir(dir: string): CheckResult {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const probe = join(dir, `.check-${process.pid}`);
    writeFileSync(probe, 'ok', { mode: 0o600 });
    rmSync(probe);
    return { name: 'data dir', ok: true, detail: `${dir} is writable` };
  } catch (e) {
    return { name: 'data dir', ok: false, detail: `${dir}: ${errorMessage(e)}`, fix: `create it and give the edgecore user write access, or set dataDir` };
  }
}

async function checkDocker(socketPath: string, enabled: boolean): Promise<CheckResult> {
  const name = 'docker';
  if (!existsSync(socketPath)) {
    return { name, ok: false, optional: !enabled, detail: `no socket at ${socketPath}`, fix: 'install and start Docker (apt-get install docker.io), or set paths.dockerSocket' };
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
    return { name, ok: false, optional: !enabled, detail: `${socketPath}: ${errorMessage(e)}`, fix: 'start dockerd, and add the edgecore user to the docker group' };
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

async function checkBroker(cfg: EdgecoreConfig): Promise<CheckResult> {
  const eb = cfg.modules.eventbus;
  if (!eb.enabled) return { name: 'eventbus broker', ok: true, detail: 'eventbus disabled' };
  if (eb.mode === 'embedded') {
    const err = await portFree(eb.host, eb.port);
    return err
      ? { name: 'eventbus broker', ok: false, detail: `cannot listen on ${eb.host}:${eb.port}: ${err}`, fix: 'stop what holds the port, or set modules.eventbus.port' }
      : { name: 'eventbus broker', ok: true, detail: `embedded broker can listen on ${eb.host}:${eb.port}` };
  }
  const u = new URL(eb.url);
  const err = await tcpReachable(u.hostname, Number(u.port || 1883));
  return err
    ? { name: 'eventbus broker', ok: false, detail: `${eb.url}: ${err}`, fix: 'start the broker, or use mode: embedded' }
    : { name: 'eventbus broker', ok: true, detail: `${eb.url} reachable` };
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
  return [
    checkRuntime(process.version, process.env),
    checkDataDir(cfg.dataDir),
    await checkDocker(cfg.paths.dockerSocket, cfg.modules.edged.enabled),
    checkGpio(cfg.paths.sysfs),
    checkDevices(cfg.paths.dev, 'i2c', /^i2c-\d+$/, 'i2c'),
    checkDevices(cfg.paths.dev, 'serial', /^tty(USB|ACM|AMA|S)\d+$/, 'dialout'),
    await checkBroker(cfg),
    await checkRelay(cfg),
    ...(cfg.modules.nodestatus.enabled ? await nodeStatusChecks(cfg) : []),
  ];
}
