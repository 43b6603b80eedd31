/**
 * Streams end to end: `edgerelay run` and `edgecore run` as processes, pods on the real Docker
 * engine, and real Kubernetes clients (@kubernetes/client-node Exec/Attach/Log/PortForward, a
 * raw `ws` client) on the relay's pod subresources. Exec with exit codes, stdin and a TTY with
 * resize; attach; logs follow/tail/previous/timestamps; port-forward; a stalled reader does not
 * stall another session; frames forged by another node's credentials are dropped; a client
 * that hangs up leaves no exec process behind.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { request } from 'node:https';
import mqtt from 'mqtt';
import { parseAllDocuments } from 'yaml';
import { encodeFrame, FrameType } from '../../../src/contract/streams.js';
import { topics } from '../../../src/contract/topics.js';
import { ensureTestImage, needDocker } from '../../helpers/docker.js';
import { tmpDir } from '../../helpers/tmp.js';
import { ADMIN, freePort, NodeProc, RelayProc, relayPorts, waitFor } from './harness.js';
import { attachTty, execRun, execTty, kubeConfig, logFollow, portForward, rawExec } from './kube-clients.js';

test('logs, exec, attach and port-forward through node ⇄ relay streams', async (t) => {
  const docker = await needDocker(t);
  if (!docker) return;
  const image = await ensureTestImage(docker);
  // the processes stop before their folder goes (after-hooks run first-in, first-out): a node
  // still writing into it made the removal fail with ENOTEMPTY
  const closers: (() => Promise<unknown>)[] = [];
  t.after(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  });
  const dir = tmpDir(t, 'edgecore-streams-');
  // the relay as shipped (HTTPS, MQTT over TLS): the raw clients below trust its CA
  const relay = new RelayProc({ dir, ports: await relayPorts() });
  closers.push(() => relay.stop('SIGKILL'));
  await relay.start();
  const name = `streams-${randomBytes(3).toString('hex')}`;
  const node = new NodeProc({ dir, name, join: await relay.join(name), edged: true, devicetwin: false, edgedConfig: { crashLoop: { initialSeconds: 0.5, maxSeconds: 1 } } });
  closers.push(async () => {
    await node.stop('SIGKILL');
    const left = await docker.listContainers({ all: true, filters: { label: [`io.edgecore.node=${name}`] } });
    await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
  });
  await node.start();
  const pfPort = await freePort();
  const f = join(dir, 'pods.yaml');
  writeFileSync(
    f,
    `apiVersion: v1
kind: Pod
metadata: { name: box }
spec:
  containers:
    - name: main
      image: ${image}
      imagePullPolicy: Never
      command: ["sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done"]
    - name: shell
      image: ${image}
      imagePullPolicy: Never
      command: ["sh"]
      stdin: true
      tty: true
    - name: crash
      image: ${image}
      imagePullPolicy: Never
      command: ["sh", "-c", "echo run-$RANDOM-$RANDOM; sleep 0.5; exit 1"]
---
apiVersion: v1
kind: Pod
metadata: { name: pf }
spec:
  hostNetwork: true
  containers:
    - name: echo
      image: ${image}
      imagePullPolicy: Never
      command: ["nc", "-ll", "-p", "${pfPort}", "-e", "cat"]
`,
  );
  // the pods are bound to the node: its desired document (computed from the API) takes them there
  for (const doc of parseAllDocuments(readFileSync(f, 'utf8'))) {
    const m = doc.toJS() as { spec: Record<string, unknown> };
    m.spec.nodeName = name;
    const res = await relay.fetch()(`${relay.api}/api/v1/namespaces/default/pods`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify(m) });
    assert.equal(res.status, 201, await res.text());
  }
  const kc = kubeConfig(relay.api);
  // running = an exec in each long-running container answers
  await waitFor('box running', async () => (await execRun(kc, 'box', 'main', ['true'])).status.status === 'Success' || undefined, 60_000, 300);
  await waitFor('shell running', async () => (await execRun(kc, 'box', 'shell', ['true'])).status.status === 'Success' || undefined, 30_000, 300);
  await waitFor('pf running', async () => (await execRun(kc, 'pf', 'echo', ['true'])).status.status === 'Success' || undefined, 30_000, 300);

  await t.test('exec: stdout, stderr and a non-zero exit code as a Failure status with an ExitCode cause', async () => {
    const r = await execRun(kc, 'box', 'main', ['sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    assert.equal(r.status.status, 'Failure');
    assert.equal(r.status.reason, 'NonZeroExitCode');
    assert.deepEqual(r.status.details?.causes, [{ reason: 'ExitCode', message: '3' }]);
    const ok = await execRun(kc, 'box', 'main', ['echo', 'fine']);
    assert.deepEqual(ok, { stdout: 'fine\n', stderr: '', status: { metadata: {}, status: 'Success' } } as never);
  });

  await t.test('exec with stdin: the close signal ends the input (v5)', async () => {
    const r = await execRun(kc, 'box', 'main', ['sh', '-c', 'wc -c; echo done'], 'x'.repeat(100_000));
    assert.equal(r.stdout.trim().split(/\s+/).join(' '), '100000 done');
    assert.equal(r.status.status, 'Success');
  });

  await t.test('exec refusals: unknown container before the upgrade, a stopped command on channel 3', async () => {
    await assert.rejects(execRun(kc, 'box', 'nope', ['true']));
    const refused = await rawExec(relay.api, relay.caPem, 'box', 'nope', ['true']).then(
      () => assert.fail('upgraded'),
      (e: Error) => e.message,
    );
    assert.match(refused, /Unexpected server response: 400/);
    const missing = await execRun(kc, 'box', 'main', ['/no/such/binary']);
    assert.equal(missing.status.status, 'Failure');
    // kubectl's SPDY fallback gets the same refusal, so it prints the real reason
    const spdy = await spdyAttempt(relay.caPem, `${relay.api}/api/v1/namespaces/default/pods/box/exec?command=true&stdout=1&container=nope`);
    assert.equal(spdy.status, 400);
    const body = JSON.parse(spdy.body) as { kind: string; message: string };
    assert.equal(body.kind, 'Status');
    assert.match(body.message, /container nope is not valid for pod box/);
    const spdyOk = await spdyAttempt(relay.caPem, `${relay.api}/api/v1/namespaces/default/pods/box/exec?command=true&stdout=1&container=main`);
    assert.equal(spdyOk.status, 400);
    assert.match(spdyOk.body, /over SPDY is not supported by edgerelay/);
  });

  await t.test('exec over v4.channel.k8s.io (older clients): the protocol is echoed, the status still ends it', async () => {
    const ws = await rawExec(relay.api, relay.caPem, 'box', 'main', ['sh', '-c', 'echo v4; exit 2'], ['v4.channel.k8s.io', 'v3.channel.k8s.io']);
    assert.equal(ws.protocol, 'v4.channel.k8s.io');
    const frames: string[] = [];
    ws.on('message', (d: Buffer) => frames.push(`${d[0]}:${d.subarray(1).toString()}`));
    await new Promise((r) => ws.once('close', r));
    assert.equal(frames[0], '1:v4\n');
    assert.match(frames.at(-1)!, /^3:.*"reason":"NonZeroExitCode".*"message":"2"/);
    await assert.rejects(rawExec(relay.api, relay.caPem, 'box', 'main', ['true'], ['v3.channel.k8s.io', 'channel.k8s.io']), /Unexpected server response: 400/);
  });

  await t.test('exec with a TTY: typed input echoes, resize reaches the terminal, exit ends it', async () => {
    const term = await execTty(kc, 'box', 'main', ['sh']);
    term.type('stty size\n');
    await waitFor('initial size 40x120', () => (/^40 120\r?$/m.test(term.text) ? true : undefined), 10_000, 50);
    term.type('echo typed-$((6*7))\n');
    await waitFor('typed command echoed and run', () => (term.text.includes('echo typed-$((6*7))') && /^typed-42\r?$/m.test(term.text) ? true : undefined), 10_000, 50);
    term.resize(100, 30);
    await new Promise((r) => setTimeout(r, 200)); // the resize frame goes before the next keystrokes anyway; this only keeps the output readable
    term.type('stty size\n');
    await waitFor('resized to 30x100', () => (/^30 100\r?$/m.test(term.text) ? true : undefined), 10_000, 50);
    term.type('exit 4\n');
    await term.closed();
    assert.equal(term.status?.reason, 'NonZeroExitCode');
  });

  await t.test('attach to a running container with stdin and a TTY; detaching leaves it running', async () => {
    const term = await attachTty(kc, 'box', 'shell');
    term.type('echo attached-$((1+1))\n');
    await waitFor('attached shell answered', () => (/^attached-2\r?$/m.test(term.text) ? true : undefined), 10_000, 50);
    term.ws!.close();
    await term.closed();
    const r = await execRun(kc, 'box', 'shell', ['true']);
    assert.equal(r.status.status, 'Success', 'the attached container still runs');
  });

  await t.test('logs: tail + follow in order, timestamps, previous, refusals as Status', async () => {
    const l = await logFollow(kc, 'box', 'main', { follow: true, tailLines: 3 });
    await waitFor('followed lines', () => ((l.text().match(/^tick \d+$/gm)?.length ?? 0) >= 8 ? true : undefined), 20_000, 50);
    l.stop();
    const nums = [...l.text().matchAll(/^tick (\d+)$/gm)].map((m) => Number(m[1]));
    assert.ok(nums.every((n, i) => i === 0 || n === nums[i - 1]! + 1), `consecutive: ${nums.join(',')}`);
    const ts = await logFollow(kc, 'box', 'main', { tailLines: 2, timestamps: true });
    await ts.done;
    assert.match(ts.text(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z tick \d+\n\d{4}-\d\d-\d\dT\S+ tick \d+\n$/);
    const prev = await waitFor('a previous crash container', async () => {
      const res = await relay.fetch()(`${relay.api}/api/v1/namespaces/default/pods/box/log?container=crash&previous=true`, { headers: { authorization: `Bearer ${ADMIN}` } });
      const text = await res.text();
      return res.status === 200 && /^run-\d+-\d+\n$/.test(text) ? text : undefined;
    }, 30_000, 300);
    assert.match(prev, /^run-/);
    const bad = await relay.fetch()(`${relay.api}/api/v1/namespaces/default/pods/box/log?container=nope`, { headers: { authorization: `Bearer ${ADMIN}` } });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { message: string }).message, /container nope is not valid for pod box/);
    const neg = await relay.fetch()(`${relay.api}/api/v1/namespaces/default/pods/box/log?container=main&tailLines=-2`, { headers: { authorization: `Bearer ${ADMIN}` } });
    assert.equal(neg.status, 400);
    const limited = await relay.fetch()(`${relay.api}/api/v1/namespaces/default/pods/box/log?container=main&follow=true&limitBytes=10`, { headers: { authorization: `Bearer ${ADMIN}` } });
    assert.equal((await limited.text()).length, 10, 'limitBytes cuts a followed log and ends it');
  });

  await t.test('port-forward (client-node, WebSocket): bytes reach the pod port and come back', async () => {
    const pf = await portForward(kc, 'pf', pfPort);
    pf.input.write('ping through the relay\n');
    await waitFor('echo back', () => (pf.text() === 'ping through the relay\n' ? true : undefined), 10_000, 50);
    pf.ws.close();
  });

  await t.test('a reader that stops reading stalls only its own session', async () => {
    const total = 32 * 1024 * 1024;
    const slow = await rawExec(relay.api, relay.caPem, 'box', 'main', ['head', '-c', String(total), '/dev/zero']);
    let slowBytes = 0;
    let slowStatus = '';
    slow.on('message', (d: Buffer) => {
      if (d[0] === 1) slowBytes += d.length - 1;
      if (d[0] === 3) slowStatus = d.subarray(1).toString();
    });
    await waitFor('first output', () => (slowBytes > 0 ? true : undefined), 10_000, 20);
    slow.pause(); // stop reading: the socket, then the relay's credit, then the node's pipe fill up
    const fast = await execRun(kc, 'box', 'main', ['sh', '-c', 'for i in 1 2 3; do echo fast-$i; done']);
    assert.equal(fast.stdout, 'fast-1\nfast-2\nfast-3\n');
    assert.equal(slowStatus, '', 'the stalled session has not finished');
    assert.ok(slowBytes < total, `stalled after ${slowBytes} bytes`);
    slow.resume();
    await waitFor('stalled session completes once read', () => (slowStatus ? true : undefined), 60_000, 50);
    assert.equal(slowBytes, total);
    assert.match(slowStatus, /"Success"/);
  });

  await t.test("frames forged with another node's credentials never reach a session", async () => {
    const forger = `forger-${randomBytes(3).toString('hex')}`;
    const creds = await relay.join(forger);
    const opened = node.proc!.lines.length;
    const victim = execRun(kc, 'box', 'main', ['sh', '-c', 'for i in 1 2 3 4 5 6; do echo line-$i; sleep 0.3; done']);
    const rec = await waitFor('the session id in the node log', () => {
      for (const l of node.proc!.lines.slice(opened)) {
        if (l.includes('"stream session opened"') && l.includes('line-$i')) return JSON.parse(l) as { session: string };
      }
      return undefined;
    }, 10_000, 20);
    const c = await mqtt.connectAsync(creds.brokerUrl, { clientId: forger, username: creds.username, password: creds.password, ca: relay.caPem, reconnectPeriod: 0 });
    for (let seq = 1; seq < 40; seq++) {
      c.publish(topics.streamUp(forger), encodeFrame({ type: FrameType.Data, sid: rec.session, seq, channel: 1, data: Buffer.from('FORGED\n') }), { qos: 0 });
    }
    c.publish(topics.streamUp(forger), encodeFrame({ type: FrameType.Exit, sid: rec.session, seq: 40, exit: { exitCode: 0 } }), { qos: 0 });
    // into the victim node's own topic: the broker refuses (and drops the forger's connection)
    c.publish(topics.streamUp(name), encodeFrame({ type: FrameType.Data, sid: rec.session, seq: 1, channel: 1, data: Buffer.from('FORGED\n') }), { qos: 0 });
    await c.endAsync(true).catch(() => undefined);
    const r = await victim;
    assert.equal(r.stdout, 'line-1\nline-2\nline-3\nline-4\nline-5\nline-6\n');
    assert.equal(r.status.status, 'Success');
  });

  await t.test('a client that hangs up leaves no exec process behind (with and without a TTY)', async () => {
    const procs = async (marker: string): Promise<number> => {
      const cid = (await docker.listContainers({ filters: { label: [`io.edgecore.node=${name}`, 'io.edgecore.pod.name=box', 'io.edgecore.container=main'] } }))[0]!.Id;
      const top = await docker.getContainer(cid).top({ ps_args: '-eo pid,args' });
      return (top.Processes as string[][]).filter((p) => p.join(' ').includes(marker)).length;
    };
    const plain = await rawExec(relay.api, relay.caPem, 'box', 'main', ['sh', '-c', 'sleep 3131; echo never']);
    await waitFor('sleep 3131 running', async () => ((await procs('sleep 3131')) > 0 ? true : undefined), 10_000, 100);
    plain.terminate();
    await waitFor('sleep 3131 gone', async () => ((await procs('3131')) === 0 ? true : undefined), 30_000, 100);
    const term = await execTty(kc, 'box', 'main', ['sh', '-c', 'sleep 3132']);
    await waitFor('sleep 3132 running', async () => ((await procs('sleep 3132')) > 0 ? true : undefined), 10_000, 100);
    term.ws!.terminate();
    await waitFor('sleep 3132 gone', async () => ((await procs('3132')) === 0 ? true : undefined), 30_000, 100);
  });
});

/** What kubectl's SPDY attempt sees: an upgrade request answered with plain HTTP. */
function spdyAttempt(ca: string, url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, connection: 'Upgrade', upgrade: 'SPDY/3.1', 'x-stream-protocol-version': 'v4.channel.k8s.io' } });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('upgrade', () => reject(new Error('upgraded')));
    req.on('error', reject);
    req.end();
  });
}
