/**
 * Pod volumes on the host, under `<dataDir>/pods/<uid>/volumes/<name>`: configMap and secret
 * files (with their modes, rewritten in place when the source changes), emptyDir folders, and
 * hostPath checks. Deleting a pod removes its folder.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import type { Pod, Volume } from '../../contract/resources/pod.js';
import { hostPathProblem, type Lookups } from './desired.js';
import { downwardFiles, type NodeInfo } from './downward.js';

export const podsRoot = (dataDir: string): string => join(dataDir, 'pods');
export const podDir = (dataDir: string, uid: string): string => join(podsRoot(dataDir), uid);
export const volumeDir = (dataDir: string, uid: string, name: string): string => join(podDir(dataDir, uid), 'volumes', name);

export function listPodDirs(dataDir: string): string[] {
  try {
    return readdirSync(podsRoot(dataDir));
  } catch {
    return [];
  }
}

export function removePodDir(dataDir: string, uid: string): void {
  rmSync(podDir(dataDir, uid), { recursive: true, force: true });
}

/** Where a volume's content lives on the host (hostPath: the path itself). */
export function volumeSource(dataDir: string, uid: string, v: Volume): string {
  return v.hostPath ? v.hostPath.path : volumeDir(dataDir, uid, v.name);
}

function writeIfChanged(file: string, data: Buffer, mode: number): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
  let same = false;
  try {
    same = readFileSync(file).equals(data) && (statSync(file).mode & 0o777) === mode;
  } catch {
    /* absent */
  }
  if (same) return;
  const tmp = join(dirname(file), `.${process.pid}.tmp`);
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, file);
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** Project ConfigMap/Secret keys into files: all keys, or just `items` (with their paths and modes). */
function project(dir: string, files: Map<string, Buffer>, items: { key: string; path: string; mode?: number }[] | undefined, defaultMode: number, what: string): void {
  const wanted = new Map<string, { data: Buffer; mode: number }>();
  if (items) {
    for (const it of items) {
      const data = files.get(it.key);
      if (!data) throw new Error(`${what}: key "${it.key}" not found`);
      wanted.set(it.path, { data, mode: it.mode ?? defaultMode });
    }
  } else {
    for (const [k, data] of files) wanted.set(k, { data, mode: defaultMode });
  }
  writeFiles(dir, wanted);
}

/** Make `dir` hold exactly these files (relative paths), rewriting only what changed. */
function writeFiles(dir: string, files: Map<string, { data: Buffer; mode: number }>): void {
  const wanted = new Map([...files].map(([p, f]) => [p.split('/').join(sep), f]));
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (const [p, f] of wanted) writeIfChanged(join(dir, p), f.data, f.mode);
  for (const old of listFiles(dir)) if (!wanted.has(old)) rmSync(join(dir, old), { force: true });
}

/** Create or refresh every volume of a pod. Throws with the volume's name when one cannot be made. */
export function prepareVolumes(dataDir: string, uid: string, pod: Pod, lk: Lookups, node: NodeInfo): void {
  mkdirSync(join(podDir(dataDir, uid), 'volumes'), { recursive: true, mode: 0o755 });
  const ns = pod.metadata.namespace;
  for (const v of pod.spec.volumes ?? []) {
    const dir = volumeDir(dataDir, uid, v.name);
    if (v.emptyDir) {
      if (v.emptyDir.medium !== 'Memory') mkdirSync(dir, { recursive: true, mode: 0o777 });
      if (v.emptyDir.medium !== 'Memory') chmodSync(dir, 0o777);
    } else if (v.configMap) {
      const files = lk.configMap(ns, v.configMap.name);
      if (typeof files === 'string') {
        if (!v.configMap.optional) throw new Error(`volume ${v.name}: ${files}`);
        project(dir, new Map(), undefined, v.configMap.defaultMode, `volume ${v.name}`);
      } else project(dir, files, v.configMap.items, v.configMap.defaultMode, `volume ${v.name}`);
    } else if (v.secret) {
      const files = lk.secret(ns, v.secret.secretName);
      if (typeof files === 'string') {
        if (!v.secret.optional) throw new Error(`volume ${v.name}: ${files}`);
        project(dir, new Map(), undefined, v.secret.defaultMode, `volume ${v.name}`);
      } else project(dir, files, v.secret.items, v.secret.defaultMode, `volume ${v.name}`);
    } else if (v.downwardAPI) {
      writeFiles(dir, downwardFiles(pod, uid, v.downwardAPI.items, v.downwardAPI.defaultMode, node));
    } else if (v.hostPath) {
      const { path, type } = v.hostPath;
      if (type === 'DirectoryOrCreate') mkdirSync(path, { recursive: true, mode: 0o755 });
      else if (type === 'FileOrCreate') {
        if (!existsSync(path)) {
          mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
          writeFileSync(path, '', { mode: 0o644 });
        }
      } else if (type !== '') {
        const why = hostPathProblem(path, type);
        if (why) throw new Error(`volume ${v.name}: ${why}`);
      }
    }
  }
}
