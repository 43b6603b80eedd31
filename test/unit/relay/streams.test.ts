/**
 * The stream protocol end to end in one process: the relay's NodeStreams and the node's
 * NodeStreamServer joined by an in-memory link (each frame delivered on a later tick, as the
 * broker would). The byte sessions behind the node are PassThrough fakes standing in for
 * docker; the real thing runs in test/integration/relay/streams.test.ts.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { decodeFrame, encodeFrame, FrameType, type ExitStatus, type OpenRequest } from '../../../src/contract/streams.js';
import { createLogger } from '../../../src/core/logger.js';
import { NodeStreamServer } from '../../../src/modules/edgehub/streams.js';
import type { ByteSession, OpenResult } from '../../../src/node/sessions.js';
import { NodeStreams, splice } from '../../../src/relay/streams/node-streams.js';
import { waitFor } from '../../helpers/wait.js';

const log = createLogger({ level: 'silent', format: 'json' });

/** A fake byte session: stdout/stderr/stdin PassThroughs the test drives. */
function fakeSession(): ByteSession & { out: PassThrough; err: PassThrough; in: PassThrough; finish(e: ExitStatus): void; closed: boolean } {
  const out = new PassThrough();
  const err = new PassThrough();
  const inp = new PassThrough();
  let finish!: (e: ExitStatus) => void;
  const exit = new Promise<ExitStatus>((r) => (finish = r));
  const s = {
    stdout: out,
    stderr: err,
    stdin: inp,
    out,
    err,
    in: inp,
    tty: false,
    exit,
    closed: false,
    finish: (e: ExitStatus) => {
      out.end();
      err.end();
      finish(e);
    },
    close: async () => {
      s.closed = true;
    },
  };
  return s;
}

interface Rig {
  relay: NodeStreams;
  nodes: Map<string, NodeStreamServer>;
  sessions: ReturnType<typeof fakeSession>[];
  requests: OpenRequest[];
  /** frames the relay sent, per node (decoded types) */
  cut: Set<string>;
  inject(node: string, frame: Buffer): void;
}

function rig(opts: { window?: number; keepaliveMs?: number; opener?: (req: OpenRequest) => Promise<OpenResult> } = {}): Rig {
  const nodes = new Map<string, NodeStreamServer>();
  const sessions: ReturnType<typeof fakeSession>[] = [];
  const requests: OpenRequest[] = [];
  const cut = new Set<string>();
  const relay = new NodeStreams({
    publish: async (node, frame) => {
      if (!cut.has(node)) setImmediate(() => nodes.get(node)?.handle(frame));
    },
    log,
    ...(opts.window ? { window: opts.window } : {}),
    ...(opts.keepaliveMs ? { keepaliveMs: opts.keepaliveMs } : {}),
  });
  for (const name of ['n1', 'n2']) {
    nodes.set(
      name,
      new NodeStreamServer({
        send: (frame) => {
          if (!cut.has(name)) setImmediate(() => relay.observe(name, 'stream/up', frame));
        },
        open:
          opts.opener ??
          (async (req) => {
            requests.push(req);
            const s = fakeSession();
            sessions.push(s);
            return { session: s };
          }),
        log,
        ...(opts.window ? { window: opts.window } : {}),
      }),
    );
  }
  return { relay, nodes, sessions, requests, cut, inject: (node, frame) => relay.observe(node, 'stream/up', frame) };
}

const req = { kind: 'exec' as const, pod: { namespace: 'default', name: 'p' }, command: ['sh'], stdin: true, stdout: true, stderr: true };

test('a session carries stdin, stdout and stderr in order, then its exit status', async () => {
  const r = rig();
  const s = r.relay.open('n1', req);
  const ready = await s.ready;
  assert.deepEqual(ready, { window: 256 * 1024, stdin: true, tty: false });
  const got: string[] = [];
  s.onData((ch, d) => {
    got.push(`${ch}:${d.toString()}`);
    s.ack(d.length);
  });
  const io = r.sessions[0]!;
  const typed: Buffer[] = [];
  io.in.on('data', (b: Buffer) => typed.push(b));
  s.write(Buffer.from('echo hi\n'));
  s.end();
  await new Promise<void>((res) => io.in.once('end', res));
  assert.equal(Buffer.concat(typed).toString(), 'echo hi\n');
  io.out.write('one ');
  io.err.write('two ');
  io.out.write('three');
  io.finish({ exitCode: 7 });
  assert.deepEqual(await s.exit, { exitCode: 7 });
  assert.deepEqual(got, ['1:one ', '2:two ', '1:three'], 'exit comes after every byte, in order');
  assert.equal(r.relay.stats().sessions, 0);
  assert.equal(r.nodes.get('n1')!.stats().sessions, 0);
});

test('a reader that never acks holds at most one window; another session on the same node finishes meanwhile', async () => {
  const window = 64 * 1024;
  const r = rig({ window });
  const slow = r.relay.open('n1', req);
  await slow.ready;
  let slowBytes = 0;
  const pending: number[] = [];
  slow.onData((_ch, d) => {
    slowBytes += d.length;
    pending.push(d.length); // never acked (yet)
  });
  const src = r.sessions[0]!;
  // the container writes 2 MiB as fast as its pipe takes it
  const chunk = Buffer.alloc(16 * 1024, 1);
  let written = 0;
  const pump = (): void => {
    while (written < 2 * 1024 * 1024) {
      written += chunk.length;
      if (!src.out.write(chunk)) return void src.out.once('drain', pump);
    }
    src.finish({ exitCode: 0 });
  };
  pump();
  await waitFor('the slow session to fill its window', () => (slowBytes >= window ? true : undefined), 5000, 5);
  // second session: runs to completion while the first is stalled
  const fast = r.relay.open('n1', req);
  await fast.ready;
  let fastText = '';
  fast.onData((_ch, d) => {
    fastText += d.toString();
    fast.ack(d.length);
  });
  const io2 = r.sessions[1]!;
  for (let i = 0; i < 100; i++) io2.out.write(`line ${i}\n`);
  io2.finish({ exitCode: 0 });
  assert.deepEqual(await fast.exit, { exitCode: 0 });
  assert.equal(fastText.split('\n').length, 101);
  assert.equal(slowBytes, window, 'the stalled session received exactly its window, no more');
  assert.ok(written < 2 * 1024 * 1024, 'the source was held back (backpressure reached the container side)');
  assert.ok(r.relay.stats().buffered <= window);
  assert.ok(r.nodes.get('n1')!.stats().buffered <= window + chunk.length, `node buffers ${r.nodes.get('n1')!.stats().buffered}`);
  // the reader catches up: everything arrives
  slow.onData((_ch, d) => {
    slowBytes += d.length;
    slow.ack(d.length);
  });
  slow.ack(pending.reduce((a, b) => a + b, 0));
  assert.deepEqual(await slow.exit, { exitCode: 0 });
  assert.equal(slowBytes, 2 * 1024 * 1024);
});

test('input beyond the node credit waits in a bounded queue and tells the writer to pause', async () => {
  const window = 32 * 1024;
  const r = rig({ window });
  const s = r.relay.open('n1', req);
  await s.ready;
  const io = r.sessions[0]!;
  io.in.pause(); // the container does not read its stdin
  let accepted = true;
  let sent = 0;
  while (accepted) {
    accepted = s.write(Buffer.alloc(8 * 1024, 2));
    sent += 8 * 1024;
  }
  assert.ok(sent <= 2 * window, `write() said stop after ${sent} bytes`);
  assert.ok(s.buffered <= window + 8 * 1024);
  let drained = false;
  s.onDrain(() => (drained = true));
  let read = 0;
  io.in.on('data', (b: Buffer) => (read += b.length));
  io.in.resume();
  await waitFor('drain after the container read', () => (drained ? true : undefined), 5000, 5);
  await waitFor('all input delivered', () => (read === sent ? true : undefined), 5000, 5);
  s.close();
});

test('frames for sessions a node was not given are dropped: another node, unknown ids, forged order', async () => {
  const r = rig();
  const s = r.relay.open('n1', req);
  await s.ready;
  let text = '';
  s.onData((_ch, d) => {
    text += d.toString();
    s.ack(d.length);
  });
  const before = r.relay.stats().dropped;
  // n2 (compromised) forges output for n1's session with a plausible seq
  r.inject('n2', encodeFrame({ type: FrameType.Data, sid: s.id, seq: 1, channel: 1, data: Buffer.from('FORGED') }));
  r.inject('n2', encodeFrame({ type: FrameType.Exit, sid: s.id, seq: 1, exit: { exitCode: 0 } }));
  // n1 itself for a session id the relay never opened
  r.inject('n1', encodeFrame({ type: FrameType.Data, sid: 'b'.repeat(32), seq: 0, channel: 1, data: Buffer.from('X') }));
  // n1 trying to open a session towards the relay
  const openUp = encodeFrame({ type: FrameType.Ping, sid: 'c'.repeat(32), seq: 0 });
  openUp[1] = FrameType.Open;
  r.inject('n1', openUp);
  assert.equal(r.relay.stats().dropped - before, 4);
  assert.equal(r.relay.stats().sessions, 1, 'the real session is untouched');
  r.sessions[0]!.out.write('real');
  r.sessions[0]!.finish({ exitCode: 0 });
  assert.deepEqual(await s.exit, { exitCode: 0 });
  assert.equal(text, 'real');
});

test('a frame out of sequence (lost on the link) resets the session on both sides', async () => {
  const r = rig();
  const s = r.relay.open('n1', req);
  await s.ready;
  // READY was seq 0; a frame numbered 5 means 1..4 were lost
  r.inject('n1', encodeFrame({ type: FrameType.Data, sid: s.id, seq: 5, channel: 1, data: Buffer.from('x') }));
  const exit = await s.exit;
  assert.equal(exit.error?.code, 'Unavailable');
  assert.match(exit.error!.message, /frames lost/);
  await waitFor('node side closed', () => (r.sessions[0]!.closed ? true : undefined), 5000, 5);
});

test('a node sending more than its credit is reset', async () => {
  const r = rig({ window: 16 * 1024 });
  const s = r.relay.open('n1', req);
  await s.ready;
  s.onData(() => undefined);
  for (let i = 1; i <= 3; i++) r.inject('n1', encodeFrame({ type: FrameType.Data, sid: s.id, seq: i, channel: 1, data: Buffer.alloc(8 * 1024) }));
  const exit = await s.exit;
  assert.match(exit.error?.message ?? '', /more output than its credit/);
});

test('a node refusing the open ends the session before it started, with its reason', async () => {
  const r = rig({ opener: async () => ({ error: { code: 'NotFound', message: 'pod default/p not found' } }) });
  const s = r.relay.open('n1', req);
  await assert.rejects(s.ready, /pod default\/p not found/);
  assert.deepEqual(await s.exit, { error: { code: 'NotFound', message: 'pod default/p not found' } });
});

test('when the link goes silent both sides give up after three keepalive periods', async (t) => {
  // the session timers do not hold the process open (unref): this test must
  const hold = setInterval(() => undefined, 1000);
  t.after(() => clearInterval(hold));
  const r = rig({ keepaliveMs: 100 });
  const s = r.relay.open('n1', req);
  await s.ready;
  r.cut.add('n1');
  const exit = await s.exit;
  assert.equal(exit.error?.code, 'Timeout');
  await waitFor('node side closed too', () => (r.sessions[0]!.closed ? true : undefined), 5000, 20);
  assert.equal(r.nodes.get('n1')!.stats().sessions, 0);
});

test('presence of a node ends its sessions on the relay; the node ends its own when its link drops', async () => {
  const r = rig();
  const a = r.relay.open('n1', req);
  const b = r.relay.open('n2', req);
  await Promise.all([a.ready, b.ready]);
  r.relay.observe('n1', 'presence', Buffer.from('{"online":false}'));
  assert.equal((await a.exit).error?.code, 'Unavailable');
  assert.equal(r.relay.stats().sessions, 1, "n2's session goes on");
  r.nodes.get('n1')!.resetAll('link lost');
  assert.ok(r.sessions[0]!.closed);
  b.close();
  // decoding sanity: what the relay sends on close is a RESET going down
  const reset = encodeFrame({ type: FrameType.Reset, sid: b.id, seq: 9, reset: { code: 'Unavailable', message: 'x' } });
  assert.equal(decodeFrame(reset, 'down').ok, true);
});

test('two sessions spliced on the relay form one pipe between two nodes, credit end to end', async () => {
  const window = 32 * 1024;
  const r = rig({ window });
  const a = r.relay.open('n1', { kind: 'portforward', pod: { namespace: 'default', name: 'client' }, port: 1 });
  const b = r.relay.open('n2', { kind: 'portforward', pod: { namespace: 'default', name: 'server' }, port: 2 });
  await Promise.all([a.ready, b.ready]);
  splice(a, b);
  const [ioA, ioB] = [r.sessions[0]!, r.sessions[1]!];
  ioB.in.pause(); // the far end does not read yet
  const sent = 512 * 1024;
  let written = 0;
  const chunk = Buffer.alloc(8 * 1024, 3);
  const pump = (): void => {
    while (written < sent) {
      written += chunk.length;
      if (!ioA.out.write(chunk)) return void ioA.out.once('drain', pump);
    }
  };
  pump();
  await new Promise((res) => setTimeout(res, 100));
  assert.ok(written < sent, 'the sender is held back while the far end does not read');
  assert.ok(r.relay.stats().buffered <= 3 * window, `relay holds ${r.relay.stats().buffered} bytes`);
  let got = 0;
  ioB.in.on('data', (d: Buffer) => (got += d.length));
  ioB.in.resume();
  await waitFor('everything through', () => (got === sent ? true : undefined), 10_000, 10);
  ioB.out.write('reply');
  let back = '';
  ioA.in.on('data', (d: Buffer) => (back += d.toString()));
  await waitFor('the reply comes back', () => (back === 'reply' ? true : undefined), 5000, 10);
  ioB.finish({});
  await b.exit;
  await new Promise<void>((res) => ioA.in.once('end', res)); // a's input got EOF when b ended
  ioA.finish({});
  await a.exit;
});

test('input typed after a resize reaches the session only once the resize is done', async () => {
  const events: string[] = [];
  const r = rig({
    opener: async () => {
      const s = fakeSession();
      r.sessions.push(s);
      return {
        session: Object.assign(s, {
          tty: true,
          resize: (w: number, h: number) =>
            new Promise<void>((done) =>
              setTimeout(() => {
                events.push(`resize ${w}x${h}`);
                done();
              }, 50),
            ),
        }),
      };
    },
  });
  const s = r.relay.open('n1', { ...req, tty: true, stderr: false });
  s.resize(120, 40); // before READY, like a client's first frame
  s.write(Buffer.from('stty size\n'));
  await s.ready;
  const io = r.sessions[0]!;
  io.in.on('data', (b: Buffer) => events.push(`input ${b.toString().trim()}`));
  await waitFor('input delivered', () => (events.some((e) => e.startsWith('input')) ? true : undefined), 5000, 10);
  assert.deepEqual(events, ['resize 120x40', 'input stty size']);
  s.close();
});
