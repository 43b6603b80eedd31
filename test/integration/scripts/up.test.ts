/**
 * scripts/up.sh — the README's first command — on a fresh Debian 12: a container from the clean
 * debootstrap'd bookworm root (test/integration/packaging/debian-image.mjs: minbase, so no Node,
 * no busybox, no curl, no sudo), run once as root and once through sudo by an ordinary user who
 * owns the checkout. It must end with the demo running: relay healthy (HTTPS, trusted by the CA the
 * relay made), node joined (Ready), and a pod from examples/ running on the image the demo built its way.
 *
 * Honest about the parts that are not "a machine of its own":
 * - Docker: up.sh really installs Debian's docker.io in the root, but the engine that answers is
 *   the host's, its socket bind-mounted at /var/run/docker.sock (an unprivileged container cannot
 *   run dockerd). So up.sh's "start dockerd" branch is not exercised here, and the pods run on the
 *   host's engine. For that, the checkout copy sits at the same path inside and outside the
 *   container (volumes the node prepares are then where the engine looks), and, for the sudo run,
 *   the root's `docker` group is created with the host socket's gid before anything is installed
 *   (on a real machine docker.io creates that group and owns the socket with it).
 * - The demo image: the host engine may already hold edgecore-test/busybox:1 (other tests build
 *   it), in which case the demo verifies it by running it rather than building it; that up.sh got
 *   a statically linked busybox is checked directly. Building the image from it, and refusing a
 *   dynamic one, are covered by test/unit/scripts/demo.test.ts and the demo test.
 * - Network: apt (deb.debian.org) and the npm registry must be reachable from a container, as
 *   they are from this CI machine. Where the machine reaches them through a TLS-intercepting proxy
 *   whose CA it announces in CURL_CA_BUNDLE / NODE_EXTRA_CA_CERTS (this one does), the test hands
 *   up.sh the same two variables, pointing at a copy of those files: a fresh root does not trust
 *   that CA, a real fresh machine without such a proxy needs neither.
 * Each run takes minutes (apt, npm ci compiling native addons): the timeouts only bound a failure.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { needDocker } from '../../helpers/docker.js';
import { needService } from '../../helpers/service.js';
import { ROOT } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

const DEBIAN_IMAGE = 'edgecore-test/debian-bookworm:1';
const SOCKET = '/var/run/docker.sock';
/** the kubectl the test hands the user (the README's path uses kubectl; up.sh does not install one) */
const KUBECTL = '/usr/lib/google-cloud-sdk/bin/kubectl.1.32';

function sh(cmd: string, args: string[], timeoutMs = 300_000) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}`, stdout: r.stdout ?? '' };
}

/** `sh` without blocking: the two runs share this process, and one's apt must not stall the other's polling. */
function shAsync(cmd: string, args: string[], timeoutMs = 300_000): Promise<{ status: number | null; out: string; stdout: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let out = '';
    p.stdout.on('data', (d) => {
      stdout += d;
      out += d;
    });
    p.stderr.on('data', (d) => (out += d));
    p.on('error', (e) => resolve({ status: null, out: `${out}${e.message}`, stdout }));
    p.on('close', (code) => resolve({ status: code, out, stdout }));
  });
}

/** The checkout as a fresh clone has it: tracked and new files, nothing ignored or built. */
function copyCheckout(dest: string): void {
  const ls = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(ls.status, 0, ls.stderr);
  for (const f of ls.stdout.split('\0').filter(Boolean)) {
    if (/^(node_modules|dist|builds|\.edgecore)(\/|$)/.test(f)) continue;
    let st;
    try {
      st = statSync(join(ROOT, f));
    } catch {
      continue; // deleted in the work tree
    }
    if (!st.isFile()) continue;
    mkdirSync(dirname(join(dest, f)), { recursive: true });
    cpSync(join(ROOT, f), join(dest, f), { preserveTimestamps: true });
  }
}

/** The clean Debian image, made once for both runs (they start together and must not both build it). */
let debianImage: Promise<void> | undefined;
function makeDebianImage(): Promise<void> {
  debianImage ??= (async () => {
    if (sh('sh', ['-c', 'command -v debootstrap']).status !== 0) throw new Error('debootstrap missing (.ci/provision.d/packaging.sh)');
    const img = sh(process.execPath, [join(ROOT, 'test/integration/packaging/debian-image.mjs')], 20 * 60_000);
    if (img.status !== 0) throw new Error(`Debian image: ${img.out}`);
  })();
  return debianImage;
}

async function gate(t: TestContext): Promise<boolean> {
  if (!(await needDocker(t))) return false;
  return needService(t, 'debootstrap (the clean Debian root)', makeDebianImage);
}

async function upInFreshDebian(t: TestContext, how: 'root' | 'sudo'): Promise<void> {
  const name = `edgecore-up-${how}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const node = `up-${how}-${process.pid}`;
  const work = mkdtempSync(join(tmpdir(), 'edgecore-up-'));
  chmodSync(work, 0o755); // the checkout's owner must reach it (mkdtemp makes it root's only)
  const co = join(work, 'edgecore');
  copyCheckout(co);
  t.after(() => {
    sh('docker', ['rm', '-f', name]);
    const pods = sh('docker', ['ps', '-aq', '--filter', `label=io.edgecore.node=${node}`]).stdout.split('\n').filter(Boolean);
    if (pods.length) sh('docker', ['rm', '-f', ...pods]);
    rmSync(work, { recursive: true, force: true });
  });
  const run = await shAsync('docker', ['run', '-d', '--name', name, '--label', 'edgecore.test=up', '-v', `${SOCKET}:${SOCKET}`, '-v', `${work}:${work}`, DEBIAN_IMAGE, 'sleep', 'infinity']);
  assert.equal(run.status, 0, run.out);
  const exec = (cmd: string, user = 'root') => shAsync('docker', ['exec', '-u', user, '-w', co, name, 'bash', '-c', cmd]);

  // a fresh root: none of what up.sh installs
  for (const c of ['node', 'npm', 'busybox', 'curl', 'docker', 'sudo']) assert.notEqual((await exec(`command -v ${c}`)).status, 0, `${c} already in the fresh root`);

  // the host's own CA announcements (see the comment at the top), as copies the root can read
  const caEnv: string[] = [];
  for (const v of ['CURL_CA_BUNDLE', 'NODE_EXTRA_CA_CERTS']) {
    const file = process.env[v];
    if (!file) continue;
    cpSync(file, join(work, `${v}.pem`));
    caEnv.push(`${v}=${join(work, `${v}.pem`)}`);
  }
  const vars = [...caEnv, `EDGECORE_DEMO_NODE=${node}`].join(' ');
  let user = 'root';
  let command = `${vars} bash scripts/up.sh`;
  if (how === 'sudo') {
    // the docker group first, with the host socket's gid (see the comment at the top), then sudo
    const gid = statSync(SOCKET).gid;
    const prep = await exec(
      `groupadd --system -g ${gid} docker && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends sudo >/dev/null && ` +
        `useradd -m -s /bin/bash dev && echo 'dev ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/dev && chown -R dev:dev ${co}`,
    );
    assert.equal(prep.status, 0, prep.out);
    user = 'dev';
    command = `sudo ${vars} bash scripts/up.sh`;
  }

  const up = spawn('docker', ['exec', '-u', user, '-w', co, name, 'bash', '-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  up.stdout.on('data', (d) => (out += d));
  up.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => up.on('exit', (code) => r(code)));
  t.after(() => up.kill('SIGKILL'));
  const running = waitFor(`up.sh to end with the demo running`, () => up.exitCode !== null || (/Relay and node are running/.test(out) && /\[edgecore\] edgecore ready/.test(out)), 30 * 60_000, 500);
  await running.catch((e: Error) => assert.fail(`${e.message}\n--- up.sh output ---\n${out}`));
  assert.equal(up.exitCode, null, `up.sh exited ${up.exitCode}:\n${out}`);

  // it said what it did, in order, and installed a runtime it checked
  const steps = [...out.matchAll(/^\[(\d)\/6\] /gm)].map((m) => Number(m[1]));
  assert.deepEqual(steps, [1, 2, 3, 4, 5, 6], out);
  assert.match(out, /downloading node-linux-\w+@20\.\d+\.\d+ from the npm registry\n\s+sha512 ok/);
  assert.match(out, /apt-get install busybox-static/);
  assert.match(out, /npm ci: .*\n.*this takes about 1-3 minutes/);
  assert.doesNotMatch(out, /npm warn install-scripts/);
  assert.equal((await exec('node -v')).stdout.trim().slice(0, 4), 'v20.', 'node >= 20 on PATH');
  assert.equal((await exec('readlink -f /usr/local/bin/node')).stdout.trim().startsWith('/usr/local/lib/edgecore-node/'), true);
  const bb = await exec(`node --input-type=module -e "import('./scripts/busybox-image.mjs').then((m) => console.log(m.findStaticBusybox()))"`);
  assert.equal(bb.status, 0, `a static busybox: ${bb.out}`);

  // the demo as a user sees it, with kubectl as the README's path has it: relay healthy, node
  // joined, a pod running on the demo image. kubectl is the user's own install (a fresh Debian has
  // none): the host's pinned kubectl is copied in, and the demo's kubeconfig carries CA and token.
  const cp = await shAsync('docker', ['cp', KUBECTL, `${name}:/usr/local/bin/kubectl`]);
  assert.equal(cp.status, 0, cp.out);
  const ctl = (args: string) => exec(`kubectl --kubeconfig .edgecore/kubeconfig ${args}`, user);
  // the relay's API is HTTPS from its own CA (made on first start); the demo's files name it
  const healthz = await exec('curl -fsS --cacert .edgecore/relay/data/pki/ca.crt https://127.0.0.1:8080/healthz');
  assert.equal(healthz.status, 0, `relay healthy over HTTPS, trusted by its CA: ${healthz.out}`);
  await waitFor('node Ready', async () => new RegExp(`^${node}\\s+Ready\\b`, 'm').test((await ctl('get nodes')).stdout), 120_000, 1000);
  // the example names the demo's node (edge-demo); this run's node has a name of its own
  const apply = await exec(`sed 's/nodeName: edge-demo/nodeName: ${node}/' examples/pod-hello.yaml | kubectl --kubeconfig .edgecore/kubeconfig apply -f -`, user);
  assert.equal(apply.status, 0, apply.out);
  await waitFor('pod hello Running', async () => /^hello\s+1\/1\s+Running\b/m.test((await ctl('get pods')).stdout), 180_000, 1000).catch(async (e: Error) =>
    assert.fail(`${e.message}\n${(await ctl('describe pod hello')).out}\n--- up.sh ---\n${out.slice(-4000)}`));
  await waitFor('hello logs', async () => /hello 0/.test((await ctl('logs hello')).stdout), 60_000, 1000);

  if (how === 'sudo') {
    // the checkout's files are the user's, and the demo runs as the user
    assert.equal((await exec(`find . ! -user dev -print -quit`)).stdout.trim(), '', 'a file in the checkout not owned by dev');
    const owner = (await exec(`for p in /proc/[0-9]*; do [ "\${p#/proc/}" = "$$" ] && continue; grep -qa 'dist/edgecore.js' $p/cmdline 2>/dev/null && stat -c %U $p && break; done`)).stdout.trim();
    assert.equal(owner, 'dev', 'the node runs as the checkout owner');
  }

  // Ctrl-C: the demo stops both gracefully
  await exec(`for p in /proc/[0-9]*; do [ "\${p#/proc/}" = "$$" ] && continue; grep -qa 'scripts/demo.mjs' $p/cmdline 2>/dev/null && kill -INT \${p#/proc/}; done`);
  assert.equal(await exited, 0, out.slice(-3000));
  assert.doesNotMatch(out, /second signal/);
  assert.match(out, /\[edgecore\] edgecore stopped/);
}

// The two runs go side by side: each is its own container (its own network namespace, so the
// demos' ports do not meet) and its own node name (edged manages only its node's containers on the
// shared engine); most of a run is waiting on apt and the npm registry, and each compiles its
// native addons on one core. One after the other they took ~9 minutes of CI.
describe('scripts/up.sh on a fresh Debian 12 root', { concurrency: 2 }, () => {
  test('as root: installs Node 20 (pinned, checked), busybox-static, Docker; ends with the demo running a pod', async (t) => {
    if (!(await gate(t))) return;
    await upInFreshDebian(t, 'root');
  });

  test('through sudo by the checkout owner: the same, and the checkout stays theirs', async (t) => {
    if (!(await gate(t))) return;
    await upInFreshDebian(t, 'sudo');
  });
});
