/**
 * The real kubectl (1.32, pinned binary; 1.29 for the SPDY refusal) against `edgerelay run` and
 * `edgecore run` with a pod on the real Docker engine: exec (exit codes, stdin), exec -it under
 * script(1) (a pty: the terminal size reaches the pod), logs --tail and -f, cp both ways, and the
 * refusals kubectl prints.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { ensureTestImage, needDocker } from '../../helpers/docker.js';
import { needService } from '../../helpers/service.js';
import { tmpDir } from '../../helpers/tmp.js';
import { ADMIN, NodeProc, RelayProc, relayPorts, waitFor } from './harness.js';

const KUBECTL = (minor: number): string => `/usr/lib/google-cloud-sdk/bin/kubectl.1.${minor}`;

test('kubectl exec, exec -it, logs and cp through the relay to a pod on a node', async (t) => {
  const docker = await needDocker(t);
  if (!docker) return;
  const haveKubectl = await needService(t, 'kubectl 1.32', async () => {
    if (!existsSync(KUBECTL(32))) throw new Error(`${KUBECTL(32)} missing`);
  });
  if (!haveKubectl) return;
  const image = await ensureTestImage(docker);
  const dir = tmpDir(t, 'edgecore-kubectl-streams-');
  const relay = new RelayProc({ dir, ports: await relayPorts() });
  t.after(() => relay.stop('SIGKILL'));
  await relay.start();
  const name = `kstreams-${randomBytes(3).toString('hex')}`;
  const node = new NodeProc({ dir, name, join: await relay.join(name), edged: true, devicetwin: false });
  t.after(async () => {
    await node.stop('SIGKILL');
    const left = await docker.listContainers({ all: true, filters: { label: [`io.edgecore.node=${name}`] } });
    await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
  });
  await node.start();
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, stringify({ apiVersion: 'v1', kind: 'Config', clusters: [{ name: 'r', cluster: { server: relay.api, 'certificate-authority': relay.caFile } }], users: [{ name: 'a', user: { token: ADMIN } }], contexts: [{ name: 'c', context: { cluster: 'r', user: 'a' } }], 'current-context': 'c' }));
  const env = { PATH: process.env.PATH ?? '', HOME: dir, KUBECONFIG: kubeconfig };
  const k = (args: string[], o: { input?: string; minor?: number } = {}) => {
    const r = spawnSync(KUBECTL(o.minor ?? 32), ['--cache-dir', join(dir, `cache-${o.minor ?? 32}`), ...args], { env, input: o.input, encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  const podFile = join(dir, 'pod.yaml');
  writeFileSync(
    podFile,
    `apiVersion: v1
kind: Pod
metadata: { name: box }
spec:
  nodeName: ${name}
  containers:
    - name: main
      image: ${image}
      imagePullPolicy: Never
      command: ["sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done"]
`,
  );
  assert.equal(k(['apply', '-f', podFile]).code, 0);
  await waitFor('kubectl exec works', () => (k(['exec', 'box', '--', 'true']).code === 0 ? true : undefined), 90_000, 500);

  const ex = k(['exec', 'box', '--', 'sh', '-c', 'echo out; echo err >&2']);
  assert.deepEqual([ex.code, ex.out, ex.err], [0, 'out\n', 'err\n']);
  const fail = k(['exec', 'box', '--', 'sh', '-c', 'exit 3']);
  assert.equal(fail.code, 3);
  assert.equal(fail.err, 'command terminated with exit code 3\n');
  assert.equal(k(['exec', '-i', 'box', '--', 'wc', '-c'], { input: 'hello world\n' }).out.trim(), '12');

  // -it needs a terminal: script(1) gives kubectl a pty of 100x30; keys come through script's stdin
  const it = spawnSync('script', ['-qec', `stty cols 100 rows 30; ${KUBECTL(32)} --cache-dir ${join(dir, 'cache-32')} exec -it box -- sh`, '/dev/null'], {
    env,
    input: 'stty size; echo typed-$((6*7)); exit 5\n',
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.match(it.stdout, /^30 100\r?$/m, it.stdout);
  assert.match(it.stdout, /^typed-42\r?$/m);
  assert.equal(it.status, 5);

  const tail = k(['logs', 'box', '--tail', '2']);
  assert.equal(tail.code, 0);
  assert.match(tail.out, /^tick \d+\ntick \d+\n$/);
  const follow = spawn(KUBECTL(32), ['--cache-dir', join(dir, 'cache-32'), 'logs', '-f', '--tail', '1', 'box'], { env });
  let followed = '';
  follow.stdout.on('data', (b: Buffer) => (followed += b.toString()));
  await waitFor('followed lines', () => ((followed.match(/^tick \d+$/gm)?.length ?? 0) >= 4 ? true : undefined), 20_000, 50);
  follow.kill();
  const nums = [...followed.matchAll(/^tick (\d+)$/gm)].map((m) => Number(m[1]));
  assert.ok(nums.every((n, i) => i === 0 || n === nums[i - 1]! + 1), followed);

  writeFileSync(join(dir, 'local.txt'), 'copied through the relay\n');
  assert.equal(k(['cp', join(dir, 'local.txt'), 'box:/tmp/remote.txt']).code, 0);
  assert.equal(k(['exec', 'box', '--', 'cat', '/tmp/remote.txt']).out, 'copied through the relay\n');
  assert.equal(k(['cp', 'box:/tmp/remote.txt', join(dir, 'back.txt')]).code, 0);
  assert.equal(readFileSync(join(dir, 'back.txt'), 'utf8'), 'copied through the relay\n');

  const bad = k(['exec', 'box', '-c', 'nope', '--', 'true']);
  assert.equal(bad.code, 1);
  assert.equal(bad.err, 'Error from server (BadRequest): container nope is not valid for pod box\n');
  if (existsSync(KUBECTL(29))) {
    const old = k(['exec', 'box', '--', 'true'], { minor: 29 });
    assert.equal(old.code, 1);
    assert.match(old.err, /exec over SPDY is not supported by edgerelay: .*kubectl 1\.30 or newer/);
  }
});
