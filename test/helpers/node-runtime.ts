/**
 * Running a node script in a pod of the test image (busybox, no node): the host's node executable
 * and every shared library `ldd` names for it, mounted read-only at their own paths through the
 * pod spec's hostPath volumes, nothing added to the image.
 */
import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';

export function nodeRuntimeMounts(): { volumes: unknown[]; mounts: unknown[] } {
  const exe = realpathSync(process.execPath);
  const libs = execFileSync('ldd', [exe], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /(\/\S+) \(0x/.exec(l)?.[1])
    .filter((p): p is string => !!p);
  const files = [{ host: exe, at: '/usr/local/bin/node' }, ...libs.map((p) => ({ host: realpathSync(p), at: p }))];
  return {
    volumes: files.map((f, i) => ({ name: `rt${i}`, hostPath: { path: f.host, type: 'File' } })),
    mounts: files.map((f, i) => ({ name: `rt${i}`, mountPath: f.at, readOnly: true })),
  };
}
