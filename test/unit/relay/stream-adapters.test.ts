/** The Kubernetes side of the stream adapters as pure functions: queries, containers, statuses. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseChannelQuery } from '../../../src/relay/streams/channel.js';
import { parseLogQuery } from '../../../src/relay/streams/logs.js';
import { podTargetOf } from '../../../src/relay/streams/mount.js';
import { parsePorts } from '../../../src/relay/streams/portforward.js';
import { channelStatus, resolveContainer, StreamRequestError, type PodTarget } from '../../../src/relay/streams/status.js';

const pod = (containers: string[], phase?: string): PodTarget => ({ node: 'n1', namespace: 'default', name: 'web', uid: 'u1', containers, initContainers: ['init'], ...(phase ? { phase } : {}) });
const q = (s: string): URLSearchParams => new URLSearchParams(s);
const refusal = (fn: () => unknown, re: RegExp): void => {
  assert.throws(fn, (e: unknown) => e instanceof StreamRequestError && e.status.code === 400 && re.test(e.status.message ?? ''));
};

test('log query: Kubernetes parameter names, booleans as Go parses them, sinceTime to seconds', () => {
  const now = Date.parse('2026-01-01T00:01:00Z');
  assert.deepEqual(parseLogQuery(q('container=c&follow=true&tailLines=5&timestamps=1&previous=false&limitBytes=100&pretty=true'), now), {
    container: 'c',
    logs: { follow: true, timestamps: true, previous: false, tailLines: 5 },
    limitBytes: 100,
  });
  assert.deepEqual(parseLogQuery(q('sinceTime=2026-01-01T00:00:30Z'), now).logs.sinceSeconds, 30);
  assert.deepEqual(parseLogQuery(q('sinceSeconds=10'), now).logs.sinceSeconds, 10);
  refusal(() => parseLogQuery(q('sinceSeconds=10&sinceTime=2026-01-01T00:00:30Z'), now), /at most one of sinceTime or sinceSeconds/);
  refusal(() => parseLogQuery(q('tailLines=-1'), now), /tailLines/);
  refusal(() => parseLogQuery(q('sinceSeconds=0'), now), /sinceSeconds/);
  refusal(() => parseLogQuery(q('follow=yes'), now), /follow: invalid value "yes"/);
  refusal(() => parseLogQuery(q('sinceTime=yesterday'), now), /sinceTime/);
});

test('containers: the named one (init containers too), the only one, or a refusal naming the choices', () => {
  assert.equal(resolveContainer(pod(['a']), null), 'a');
  assert.equal(resolveContainer(pod(['a', 'b']), 'b'), 'b');
  assert.equal(resolveContainer(pod(['a', 'b']), 'init'), 'init');
  refusal(() => resolveContainer(pod(['a', 'b']), null), /a container name must be specified for pod web, choose one of: \[a b\]/);
  refusal(() => resolveContainer(pod(['a']), 'x'), /container x is not valid for pod web/);
});

test('exec/attach query: argv in order, tty drops stderr, at least one stream, no exec into a finished pod', () => {
  const r = parseChannelQuery('exec', q('command=sh&command=-c&command=echo%20hi&stdin=true&stdout=true&stderr=true&tty=true&container=a'), pod(['a', 'b']));
  assert.deepEqual(r, { kind: 'exec', pod: { namespace: 'default', name: 'web', uid: 'u1' }, container: 'a', command: ['sh', '-c', 'echo hi'], stdin: true, stdout: true, stderr: false, tty: true });
  const a = parseChannelQuery('attach', q('stdout=1&stderr=1'), pod(['a']));
  assert.equal(a.command, undefined);
  assert.equal(a.stderr, true);
  refusal(() => parseChannelQuery('exec', q('stdout=true'), pod(['a'])), /at least one command/);
  refusal(() => parseChannelQuery('exec', q('command=ls'), pod(['a'])), /at least 1 of stdin, stdout, stderr/);
  refusal(() => parseChannelQuery('exec', q('command=ls&stdout=1'), pod(['a'], 'Succeeded')), /cannot exec into a container in a completed pod; current phase is Succeeded/);
});

test('port-forward ports: comma lists and repeats, 1..65535, at most 8', () => {
  assert.deepEqual(parsePorts(q('ports=80,443&ports=8080')), [80, 443, 8080]);
  refusal(() => parsePorts(q('')), /at least one port/);
  refusal(() => parsePorts(q('ports=0')), /ports: invalid value "0"/);
  refusal(() => parsePorts(q('ports=http')), /ports: invalid value "http"/);
  refusal(() => parsePorts(q(`ports=${Array.from({ length: 9 }, (_, i) => i + 1).join(',')}`)), /at most 8/);
});

test('the channel-3 status as the kubelet writes it', () => {
  assert.deepEqual(channelStatus({ exitCode: 0 }, ['true']), { metadata: {}, status: 'Success' });
  assert.deepEqual(channelStatus({}, undefined), { metadata: {}, status: 'Success' });
  const f = channelStatus({ exitCode: 3 }, ['sh', '-c', 'exit 3']);
  assert.equal(f.reason, 'NonZeroExitCode');
  assert.deepEqual(f.details, { causes: [{ reason: 'ExitCode', message: '3' }] });
  assert.deepEqual(channelStatus({ error: { code: 'Conflict', message: 'container a is not running' } }, ['ls']), { metadata: {}, status: 'Failure', message: 'container a is not running', reason: 'Conflict', code: 409 });
});

test('a pod without a node cannot be streamed to', () => {
  refusal(() => podTargetOf({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'a' }] } }), /pod p does not have a host assigned/);
  assert.equal(podTargetOf({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'x' }, spec: { nodeName: 'n9', containers: [{ name: 'a' }] } }).node, 'n9');
});
