/**
 * The slow facts: the OS and machine (systeminformation's OS part: os-release, hostname, machine and
 * hardware ids — it spawns a few short commands, so this runs at start and then every
 * `factsSeconds`, never per sample), the node's addresses (node:os, filtered: addresses.ts) and
 * CPU count, and the container runtime (Docker's /version, /info and /networks over its socket:
 * the version, the root folder whose disk the node watches, the bridges and subnets of its
 * networks — never reported as the node's addresses).
 */
import { request } from 'node:http';
import { cpus, hostname, networkInterfaces, release } from 'node:os';
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

const printable = (s: string | undefined, max = 128): string | undefined => {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: dropping control characters is the point
  const t = (s ?? '').replace(/[\u0000-\u001f\u007f-\u009f]/g, '').trim();
  return t ? t.slice(0, max) : undefined;
};

/** The host's addresses that peers may reach (addresses.ts). */
export const hostAddresses = (rules: AddressRules): string[] => reportedAddresses(networkInterfaces(), rules);

export async function readFacts(rules: AddressRules): Promise<Facts> {
  // only its OS part (the index would load and keep every area it covers: ~5 MiB unbundled);
  // a CommonJS file: its functions are on `default` once bundled
  const mod = await import('systeminformation/lib/osinfo.js');
  const si = mod.default ?? mod;
  const [os, ids] = await Promise.all([si.osInfo(), si.uuid()]);
  const image = [os.distro, os.release && os.release !== 'unknown' ? os.release : '', os.codename ? `(${os.codename})` : ''].filter(Boolean).join(' ');
  const machineID = printable(ids.os);
  const systemUUID = printable(ids.hardware);
  return {
    hostname: printable(os.fqdn || os.hostname || hostname(), 253) ?? hostname(),
    osImage: printable(image, 256) ?? 'Linux',
    kernelVersion: printable(os.kernel || release(), 256) ?? release(),
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
