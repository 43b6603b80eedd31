/**
 * Pods never wait on each other (real engine): a pod stopping for its whole grace period, or being
 * restarted by its liveness probe, does not hold another pod's start. Ordering is asserted, not
 * time: the second pod runs while the first one's container is still inside its grace period.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pod, startTestNode, type TestNode } from './harness.js';

/** A container that ignores SIGTERM: a stop takes the whole grace period. */
const stubborn = (image: string, extra: Record<string, unknown> = {}) => ({ name: 'main', image, command: ['sh', '-c', "trap '' TERM; while :; do sleep 1; done"], ...extra });
const quick = (n: TestNode, name: string) => pod(name, { terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: n.image, command: ['sleep', '1000'] }] });

/** Resolves when the engine has sent a container its stop signal (the engine's `kill` event, replayed if past). */
async function stopSignalled(n: TestNode, id: string): Promise<void> {
  const since = Math.floor(Date.now() / 1000) - 120;
  const stream = (await n.docker.getEvents({ since, filters: { container: [id], event: ['kill'] } })) as NodeJS.ReadableStream & { destroy(): void };
  await new Promise<void>((resolve) => stream.once('data', () => resolve()));
  stream.destroy();
}

async function running(n: TestNode, podName: string): Promise<string[]> {
  return (await n.containers([`io.edgecore.pod.name=${podName}`])).filter((c) => c.State === 'running').map((c) => c.Id);
}

test('deleting a pod with a long grace period does not hold another pod: it runs while the first still stops', async (t) => {
  const n = await startTestNode(t);
  if (!n) return;
  n.apply('Pod', 'slow-stop', pod('slow-stop', { terminationGracePeriodSeconds: 60, containers: [stubborn(n.image)] }));
  await n.waitStatus('slow-stop', (s) => s.phase === 'Running', 'Running');
  const [victim] = await running(n, 'slow-stop');
  assert.ok(victim);
  const signalled = stopSignalled(n, victim);
  n.remove('Pod', 'slow-stop');
  await signalled; // the stop is under way
  n.apply('Pod', 'next', quick(n, 'next'));
  await n.waitStatus('next', (s) => s.phase === 'Running', 'the next pod Running');
  const still = await n.docker.getContainer(victim).inspect();
  assert.equal(still.State.Running, true, 'the deleted pod is still inside its 60 s grace period when the next one runs');
});

test('a pod being deleted through the API (deletionTimestamp) stops in the background and ends Failed; others start meanwhile', async (t) => {
  const n = await startTestNode(t);
  if (!n) return;
  const manifest = pod('graceful', { terminationGracePeriodSeconds: 60, containers: [stubborn(n.image)] });
  n.apply('Pod', 'graceful', manifest);
  await n.waitStatus('graceful', (s) => s.phase === 'Running', 'Running');
  const meta = manifest.metadata as Record<string, unknown>;
  n.apply('Pod', 'graceful', { ...manifest, metadata: { ...meta, deletionTimestamp: new Date().toISOString(), deletionGracePeriodSeconds: 3 } });
  n.apply('Pod', 'other', quick(n, 'other'));
  await n.waitStatus('other', (s) => s.phase === 'Running', 'the other pod Running');
  assert.equal(n.status('graceful')!.phase, 'Running', 'still Running (kubectl shows Terminating) while its container stops');
  const done = await n.waitStatus('graceful', (s) => s.phase === 'Failed', 'terminal once stopped (killed after the 3 s deletion grace)');
  const term = (done.containerStatuses[0]!.state as { terminated?: { exitCode: number } }).terminated;
  assert.equal(term?.exitCode, 137);
  assert.equal((await running(n, 'graceful')).length, 0);
});

test('a pod restarted by its liveness probe (a long stop) does not delay a new pod', async (t) => {
  const n = await startTestNode(t);
  if (!n) return;
  const probe = { exec: { command: ['false'] }, initialDelaySeconds: 1, periodSeconds: 1, failureThreshold: 1 };
  n.apply('Pod', 'sick', pod('sick', { terminationGracePeriodSeconds: 60, containers: [stubborn(n.image, { livenessProbe: probe })] }));
  await n.waitStatus('sick', (s) => s.phase === 'Running', 'Running');
  const [first] = await running(n, 'sick');
  // The probe fails: edged stops the container with the 60 s grace period.
  await stopSignalled(n, first!);
  n.apply('Pod', 'fresh', quick(n, 'fresh'));
  await n.waitStatus('fresh', (s) => s.phase === 'Running', 'the new pod Running');
  const sick = await n.docker.getContainer(first!).inspect();
  assert.equal(sick.State.Running, true, 'the sick container is still being stopped when the new pod runs');
});

test('a crash-looping pod does not delay others', async (t) => {
  const n = await startTestNode(t, { crashLoop: { initialSeconds: 30, maxSeconds: 60 } });
  if (!n) return;
  n.apply('Pod', 'loop', pod('loop', { terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: n.image, command: ['sh', '-c', 'exit 3'] }] }));
  const waiting = (s: { containerStatuses: { state: object }[] }) => (s.containerStatuses[0]?.state as { waiting?: { reason: string } } | undefined)?.waiting?.reason;
  await n.waitStatus('loop', (s) => waiting(s) === 'CrashLoopBackOff', 'CrashLoopBackOff');
  n.apply('Pod', 'calm', quick(n, 'calm'));
  await n.waitStatus('calm', (s) => s.phase === 'Running', 'Running');
  const loop = n.status('loop')!;
  assert.equal(waiting(loop), 'CrashLoopBackOff', 'the looping pod is still backing off (30 s) when the other runs');
  assert.equal(loop.containerStatuses[0]!.restartCount, 0);
});
