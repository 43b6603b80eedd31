/** Node lifecycle as pure functions: status from the node's report, Ready from presence and heartbeats (injected clock), lifecycle taints. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NodeSystemInfo } from '../../../../src/contract/node-status.js';
import type { NodeReportedStatus } from '../../../../src/contract/payloads.js';
import { isValidationError, type ValidationError } from '../../../../src/core/errors.js';
import {
  NODE_LIFECYCLE_DEFAULTS,
  goArch,
  lifecycleTaints,
  nodeSystemLabels,
  nodeSystemStatus,
  readyCondition,
  readyDeadline,
  withCondition,
  type NodeCondition,
  type NodeLiveness,
  type Taint,
} from '../../../../src/relay/kinds/node-lifecycle.js';

const CREATED = '2026-01-01T00:00:00Z';
const t = (seconds: number) => new Date(Date.parse(CREATED) + seconds * 1000);
const iso = (seconds: number) => t(seconds).toISOString().replace('.000Z', 'Z');

const report: NodeReportedStatus & { system: NodeSystemInfo } = {
  appliedVersion: 4,
  epoch: 'e1',
  agentVersion: '0.1.0',
  bootId: 'b-1',
  arch: 'arm64',
  platform: 'linux',
  outbox: { rows: 0, dropped: 0 },
  system: {
    hostname: 'pi-1',
    osImage: 'Debian GNU/Linux 12 (bookworm)',
    kernelVersion: '6.6.31+rpt-rpi-v8',
    containerRuntimeVersion: 'docker://24.0.7',
    machineID: 'm-1',
    addresses: ['192.168.1.20', 'fd00::20'],
    cpus: 4,
    memoryBytes: 8_218_431_488,
    ephemeralStorageBytes: 31_526_391_808,
  },
};

test('status from a full report: nodeInfo, addresses, capacity and allocatable as a kubelet writes them', () => {
  assert.deepEqual(nodeSystemStatus(report), {
    nodeInfo: {
      machineID: 'm-1',
      systemUUID: '',
      bootID: 'b-1',
      kernelVersion: '6.6.31+rpt-rpi-v8',
      osImage: 'Debian GNU/Linux 12 (bookworm)',
      containerRuntimeVersion: 'docker://24.0.7',
      kubeletVersion: 'v0.1.0',
      operatingSystem: 'linux',
      architecture: 'arm64',
    },
    addresses: [
      { type: 'InternalIP', address: '192.168.1.20' },
      { type: 'InternalIP', address: 'fd00::20' },
      { type: 'Hostname', address: 'pi-1' },
    ],
    capacity: { cpu: '4', 'ephemeral-storage': '30787492Ki', memory: '8025812Ki', pods: '110' },
    allocatable: { cpu: '4', 'ephemeral-storage': '30787492Ki', memory: '8025812Ki', pods: '110' },
  });
});

test("today's report (no system section) still gives a Node status; labels name arch and os the Kubernetes way", () => {
  const old = { appliedVersion: 1, epoch: 'e', agentVersion: 'v0.0.9', bootId: 'b', arch: 'x64', platform: 'linux', outbox: { rows: 1, dropped: 0 }, extra: 'from a newer node' };
  const s = nodeSystemStatus(old, { ...NODE_LIFECYCLE_DEFAULTS, defaultMaxPods: 40 });
  assert.equal(s.nodeInfo.kubeletVersion, 'v0.0.9');
  assert.equal(s.nodeInfo.architecture, 'amd64');
  assert.deepEqual(s.addresses, []);
  assert.deepEqual(s.capacity, { pods: '40' });
  assert.deepEqual(nodeSystemLabels('pi-1', old), { 'kubernetes.io/arch': 'amd64', 'kubernetes.io/os': 'linux', 'kubernetes.io/hostname': 'pi-1', 'node-role.kubernetes.io/edge': '' });
  assert.deepEqual(['ia32', 'arm', 'ppc64', 'sparc'].map(goArch), ['386', 'arm', 'ppc64le', 'sparc']);
});

test('a bad report is refused with the field path and changes nothing', () => {
  const bad = (system: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
    try {
      nodeSystemStatus({ ...report, ...extra, system: { ...report.system, ...system } });
    } catch (e) {
      assert.ok(isValidationError(e));
      return (e as ValidationError).issues.map((i) => i.path);
    }
    return [];
  };
  assert.deepEqual(bad({ osImage: 'Debian \u001b[31mred' }), ['system.osImage']);
  assert.deepEqual(bad({ addresses: ['192.168.1.20', 'six.six'] }), ['system.addresses[1]']);
  assert.deepEqual(bad({ memoryBytes: -1 }), ['system.memoryBytes']);
  assert.deepEqual(bad({ cpus: 1.5 }), ['system.cpus']);
  assert.deepEqual(bad({ ghost: 1 }), ['system.ghost']);
  assert.deepEqual(bad({}, { agentVersion: 'x'.repeat(65) }), ['agentVersion']);
  assert.deepEqual(bad({}, { runtime: { ready: 'yes' } }), ['runtime.ready']);
});

const live = (online: boolean, heardAt?: number, runtime?: NodeLiveness['runtime']): NodeLiveness => ({ online, ...(heardAt !== undefined ? { lastHeartbeat: t(heardAt) } : {}), ...(runtime ? { runtime } : {}) });

test('Ready through a node life: never heard, ready, heartbeats coalesced, silent, disconnected, back, runtime down', () => {
  const steps: { at: number; live: NodeLiveness; want: Partial<NodeCondition> }[] = [
    { at: 5, live: live(false), want: { status: 'Unknown', reason: 'NodeStatusNeverUpdated', lastHeartbeatTime: CREATED, lastTransitionTime: iso(5) } },
    { at: 10, live: live(true, 10), want: { status: 'True', reason: 'KubeletReady', message: 'edgecore is posting ready status', lastHeartbeatTime: iso(10), lastTransitionTime: iso(10) } },
    // a heartbeat 30 s later does not change the condition (no store write)
    { at: 40, live: live(true, 40), want: { status: 'True', lastHeartbeatTime: iso(10), lastTransitionTime: iso(10) } },
    // 60 s after the last written heartbeat it is refreshed
    { at: 70, live: live(true, 70), want: { status: 'True', lastHeartbeatTime: iso(70), lastTransitionTime: iso(10) } },
    { at: 100, live: live(true, 100), want: { status: 'True', lastHeartbeatTime: iso(70) } },
    // exactly notReadyAfterSeconds after the last heartbeat: still fresh
    { at: 190, live: live(true, 100), want: { status: 'True', lastHeartbeatTime: iso(70), lastTransitionTime: iso(10) } },
    // one second later: Unknown, with the time it was last heard
    { at: 191, live: live(true, 100), want: { status: 'Unknown', reason: 'NodeStatusUnknown', message: 'edgecore stopped posting node status.', lastHeartbeatTime: iso(100), lastTransitionTime: iso(191) } },
    { at: 300, live: live(true, 100), want: { status: 'Unknown', lastHeartbeatTime: iso(100), lastTransitionTime: iso(191) } },
    { at: 310, live: live(true, 310), want: { status: 'True', lastHeartbeatTime: iso(310), lastTransitionTime: iso(310) } },
    // the Last Will: Unknown at once, whatever the last heartbeat
    { at: 320, live: live(false, 315), want: { status: 'Unknown', reason: 'NodeStatusUnknown', message: 'edgecore disconnected from the relay.', lastHeartbeatTime: iso(315), lastTransitionTime: iso(320) } },
    { at: 400, live: live(true, 400, { ready: false, message: 'docker: connection refused' }), want: { status: 'False', reason: 'KubeletNotReady', message: 'docker: connection refused', lastTransitionTime: iso(400) } },
    { at: 410, live: live(true, 410, { ready: true }), want: { status: 'True', reason: 'KubeletReady', lastTransitionTime: iso(410) } },
  ];
  let prev: NodeCondition | undefined;
  const params = { ...NODE_LIFECYCLE_DEFAULTS, heartbeatWriteSeconds: 60 };
  for (const s of steps) {
    const c = readyCondition(prev, s.live, t(s.at), CREATED, params);
    assert.equal(c.type, 'Ready');
    for (const [k, v] of Object.entries(s.want)) assert.equal(c[k as keyof NodeCondition], v, `t=${s.at} ${k}`);
    prev = c;
  }
  // unchanged input, unchanged condition: the caller can skip the write
  assert.deepEqual(readyCondition(prev, live(true, 420), t(420), CREATED, params), prev);
  // the default refreshes it every 5 minutes, as a kubelet reports an unchanged status
  assert.equal(NODE_LIFECYCLE_DEFAULTS.heartbeatWriteSeconds, 300);
  const stillTrue = readyCondition(prev, live(true, 709), t(709), CREATED);
  assert.equal(stillTrue.lastHeartbeatTime, prev?.lastHeartbeatTime, '299 s after the written heartbeat: not rewritten');
  assert.equal(readyCondition(prev, live(true, 710), t(710), CREATED).lastHeartbeatTime, iso(710));
});

test('after a relay restart the stored condition stands in for the lost heartbeat time', () => {
  const stored: NodeCondition = { type: 'Ready', status: 'True', lastHeartbeatTime: iso(100), lastTransitionTime: iso(10), reason: 'KubeletReady', message: 'edgecore is posting ready status' };
  assert.deepEqual(readyCondition(stored, live(true), t(150), CREATED), stored);
  const later = readyCondition(stored, live(true), t(191), CREATED);
  assert.deepEqual([later.status, later.reason, later.lastHeartbeatTime, later.lastTransitionTime], ['Unknown', 'NodeStatusUnknown', iso(100), iso(191)]);
});

test('a dropped connection: Ready stands for offlineGraceSeconds after the Will, then Unknown (0: at once)', () => {
  const prev = readyCondition(undefined, live(true, 100), t(100), CREATED);
  const away: NodeLiveness = { ...live(false, 100), offlineSince: t(110) };
  assert.deepEqual(readyCondition(prev, away, t(150), CREATED), prev, '40 s after the Will: unchanged, nothing to write');
  const gone = readyCondition(prev, away, t(150.001), CREATED);
  assert.deepEqual([gone.status, gone.reason, gone.message], ['Unknown', 'NodeStatusUnknown', 'edgecore disconnected from the relay.']);
  const atOnce = readyCondition(prev, away, t(111), CREATED, { ...NODE_LIFECYCLE_DEFAULTS, offlineGraceSeconds: 0 });
  assert.equal(atOnce.status, 'Unknown');
  // within the grace the heartbeat deadline still holds
  const silent = readyCondition(prev, { ...live(false, 100), offlineSince: t(189) }, t(191), CREATED);
  assert.deepEqual([silent.status, silent.message], ['Unknown', 'edgecore stopped posting node status.']);
  // the controller looks again when the grace ends
  assert.deepEqual(readyDeadline(away), new Date(t(150).getTime() + 1));
  assert.equal(readyDeadline(away, { ...NODE_LIFECYCLE_DEFAULTS, offlineGraceSeconds: 0 }), undefined);
});

test('readyDeadline tells when to look again; withCondition replaces Ready only', () => {
  assert.deepEqual(readyDeadline(live(true, 100)), new Date(t(190).getTime() + 1));
  assert.equal(readyDeadline(live(false, 100)), undefined);
  assert.equal(readyDeadline(live(true)), undefined);
  const other: NodeCondition = { type: 'DiskPressure', status: 'False' };
  const ready = readyCondition(undefined, live(true, 1), t(1), CREATED);
  const list = withCondition(withCondition([other, { type: 'Ready', status: 'Unknown' }], ready), ready);
  assert.deepEqual(list, [other, ready]);
});

test('lifecycle taints follow Ready and cordon; user taints stay; timeAdded is kept while a taint stays', () => {
  const user: Taint = { key: 'dedicated', value: 'modbus', effect: 'NoSchedule' };
  const ready = lifecycleTaints([user], 'True', false, t(0));
  assert.deepEqual(ready, [user]);
  const lost = lifecycleTaints(ready, 'Unknown', false, t(10));
  assert.deepEqual(lost, [
    user,
    { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: iso(10) },
  ]);
  assert.deepEqual(lifecycleTaints(lost, 'Unknown', false, t(99)), lost);
  const notReady = lifecycleTaints(lost, 'False', true, t(20));
  assert.deepEqual(notReady, [
    user,
    { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute', timeAdded: iso(20) },
    { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' },
  ]);
  assert.deepEqual(lifecycleTaints(notReady, 'True', false, t(30)), [user]);
  assert.deepEqual(lifecycleTaints(undefined, 'True', true, t(30)), [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }]);
});
