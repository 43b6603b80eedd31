/**
 * The slow facts: the OS and machine — os-release(5) for the OS image, the kernel's hostname and
 * release, the machine id, the board's UUID (DMI, or a Raspberry Pi's serial from /proc/cpuinfo):
 * small files read directly, at start and then every `factsSeconds`, never per sample — the
 * node's addresses (node:os, filtered: addresses.ts) and CPU count, and the container runtime
 * (Docker's /version, /info and /networks over its socket: the version, the root folder whose
 * disk the node watches, the bridges and subnets of its networks — never reported as the node's
 * addresses). These were systeminformation's OS part until 2026-11-28: it read the same files
 * by spawning shells (`cat`, `hostname -f`: five processes each time) and kept its 117 KiB of
 * source with the compiled code of it and of the spawn path resident — ~0.2 MiB of the daemon's
 * heap for five short files (docs/benchmarks.md, node status).
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, hostname, networkInterfaces, release } from 'node:os';
import { join } from 'node:path';
import { errorMessage } from '../../core/errors.js';
import { reportedAddresses, type AddressRules } from './addresses.js';

export interface Facts {
  hostname: string;
  osImage: string;
  kernelVersion: string;
  machineID?: string;
  systemUUID?: string;
  addresses: string[];
  cpus: number;
}

export interface RuntimeFacts {
  ready: boolean;
  message?: string;
  version?: string;
  rootDir?: string;
}

/** Where the facts are read (the config's paths.procfs and paths.sysfs; `etc` is /etc but for tests). */
export interface FactPaths {
  procfs: string;
  sysfs: string;
  etc?: string;
}

const printable = (s: string | undefined, max = 128): string | undefined => {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: dropping control characters is the point
  const t = (s ?? '').replace(/[\u0000-\u001f\u007f-\u009f]/g, '').trim();
  return t ? t.slice(0, max) : undefined;
};

/** The first of these files that can be read (small files: read whole, synchronously), or ''. */
const firstFile = (...files: string[]): string => {
  for (const f of files) {
    try {
      return readFileSync(f, 'utf8');
    } catch {
      // the next
    }
  }
  return '';
};

/** os-release(5): `KEY=value` lines, the value optionally in single or double quotes with backslash escapes; comments and junk skipped. */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2]!.trim();
    const q = v[0];
    if ((q === '"' || q === "'") && v.length >= 2 && v.endsWith(q)) v = v.slice(1, -1).replace(/\\(["'$`\\])/g, '$1');
    out[m[1]!] = v;
  }
  return out;
}

/** The OS image as kubelet reports it: os-release's PRETTY_NAME, else NAME and VERSION, else "Linux". */
export function osImage(r: Record<string, string>): string {
  return printable(r.PRETTY_NAME, 256) ?? printable([r.NAME, r.VERSION].filter(Boolean).join(' '), 256) ?? 'Linux';
}

/** A Raspberry Pi's board serial: the `Serial` line of /proc/cpuinfo (other boards have none). */
export function cpuinfoSerial(text: string): string | undefined {
  const m = /^Serial\s*:\s*([0-9a-fA-F]+)\s*$/m.exec(text);
  return m && !/^0+$/.test(m[1]!) ? m[1]!.toLowerCase() : undefined;
}

/** The host's addresses that peers may reach (addresses.ts). */
export const hostAddresses = (rules: AddressRules): string[] => reportedAddresses(networkInterfaces(), rules);

export function readFacts(rules: AddressRules, paths: FactPaths): Facts {
  const etc = paths.etc ?? '/etc';
  const os = parseOsRelease(firstFile(join(etc, 'os-release'), '/usr/lib/os-release'));
  // kubelet's order: systemd's machine id, then D-Bus's
  const machineID = printable(firstFile(join(etc, 'machine-id'), '/var/lib/dbus/machine-id').toLowerCase());
  const systemUUID = printable(firstFile(join(paths.sysfs, 'class/dmi/id/product_uuid')).toLowerCase()) ?? cpuinfoSerial(firstFile(join(paths.procfs, 'cpuinfo')));
  return {
    hostname: printable(hostname(), 253) ?? 'localhost',
    osImage: osImage(os),
    kernelVersion: printable(release(), 256) ?? 'unknown',
    ...(machineID ? { machineID } : {}),
    ...(systemUUID ? { systemUUID } : {}),
    addresses: hostAddresses(rules),
    cpus: cpus().length,
  };
}

function dockerGet(socketPath: string, path: string, timeoutMs: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
        if (body.length > 1 << 20) req.destroy(new Error('answer too large'));
      });
      res.on('end', () => {
        if ((res.statusCode ?? 500) >= 300) return reject(new Error(`HTTP ${res.statusCode} for ${path}`));
        try {
          resolve(JSON.parse(body) as Record<string, unknown>);
        } catch (e) {
          reject(e);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Does the engine answer, and its version and root folder (`docker://24.0.7`, /var/lib/docker). */
export async function readRuntime(socketPath: string, withInfo: boolean): Promise<RuntimeFacts> {
  try {
    const v = await dockerGet(socketPath, '/version', 3000);
    const version = typeof v.Version === 'string' ? `docker://${v.Version}` : undefined;
    let rootDir: string | undefined;
    if (withInfo) {
      const info = await dockerGet(socketPath, '/info', 5000);
      rootDir = typeof info.DockerRootDir === 'string' ? info.DockerRootDir : undefined;
    }
    return { ready: true, ...(version ? { version } : {}), ...(rootDir ? { rootDir } : {}) };
  } catch (e) {
    return { ready: false, message: `docker engine at ${socketPath} does not answer: ${errorMessage(e)}` };
  }
}

/**
 * The engine's local networks: their bridge interfaces and subnets (never a node address: a peer
 * cannot reach another host's Docker bridge). Empty when the engine does not answer.
 */
export async function readEngineNetworks(socketPath: string): Promise<{ interfaces: string[]; subnets: string[] }> {
  const out = { interfaces: [] as string[], subnets: [] as string[] };
  let list: unknown;
  try {
    list = await dockerGet(socketPath, '/networks', 5000);
  } catch {
    return out;
  }
  for (const n of Array.isArray(list) ? (list as Record<string, unknown>[]) : []) {
    if (n.Scope !== 'local') continue;
    const bridge = (n.Options as Record<string, unknown> | undefined)?.['com.docker.network.bridge.name'];
    if (typeof bridge === 'string' && /^[a-zA-Z0-9_.@-]{1,15}$/.test(bridge)) out.interfaces.push(bridge);
    else if (n.Driver === 'bridge' && typeof n.Id === 'string') out.interfaces.push(`br-${n.Id.slice(0, 12)}`);
    const configs = (n.IPAM as { Config?: unknown } | undefined)?.Config;
    for (const c of Array.isArray(configs) ? (configs as Record<string, unknown>[]) : []) {
      if (typeof c.Subnet === 'string' && n.Driver !== 'host' && n.Driver !== 'null') out.subnets.push(c.Subnet);
    }
  }
  return out;
}
