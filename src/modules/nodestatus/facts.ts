/**
 * The slow facts: the OS and machine (systeminformation's OS part: os-release, hostname, machine and
 * hardware ids — it spawns a few short commands, so this runs at start and then every
 * `factsSeconds`, never per sample), the node's addresses and CPU count (node:os), and the
 * container runtime (Docker's /version and /info over its socket: the version, and the root
 * folder whose disk the node watches).
 */
import { request } from 'node:http';
import { cpus, hostname, networkInterfaces, release } from 'node:os';
import { errorMessage } from '../../core/errors.js';

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

/** Non-internal addresses, IPv4 first. */
export function hostAddresses(): string[] {
  const all = Object.values(networkInterfaces())
    .flat()
    .filter((a): a is NonNullable<typeof a> => !!a && !a.internal && !a.address.startsWith('fe80'));
  return [...all.filter((a) => a.family === 'IPv4'), ...all.filter((a) => a.family !== 'IPv4')].map((a) => a.address).slice(0, 16);
}

export async function readFacts(): Promise<Facts> {
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
    addresses: hostAddresses(),
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
