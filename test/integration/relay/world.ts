/**
 * A relay and its broker for the sync suites: the embedded broker, or our own mosquitto process on
 * an ephemeral port with the relay's generated password and ACL files. Nodes join through the
 * relay's API; `down()`/`up()` make the whole cloud side unreachable and back.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import mqtt from 'mqtt';
import type { JoinResponse } from '../../../src/contract/api.js';
import { needService } from '../../helpers/service.js';
import { tmpDir } from '../../helpers/tmp.js';
import { freePort, haveKubectl, NodeProc, Proc, RelayProc, relayPorts, waitFor } from './harness.js';

export type Mode = 'embedded' | 'mosquitto';

export interface World {
  mode: Mode;
  dir: string;
  relay: RelayProc;
  /** SIGHUP mosquitto after joins and deletions, and wait until it accepts the joined nodes (no-op on the embedded broker) */
  reload(joined?: JoinResponse[]): Promise<void>;
  /** make the cloud side unreachable for nodes (relay, and the external broker) and back */
  down(): Promise<void>;
  up(): Promise<void>;
  brokerUrl(join: { brokerUrl: string }): string;
}

/** `extra`: relay config sections merged over the test defaults (e.g. `appchannel`). */
export async function world(t: TestContext, mode: Mode, nodes: Record<string, unknown> = {}, extra: Record<string, Record<string, unknown>> = {}): Promise<World | undefined> {
  if (!(await needService(t, 'kubectl 1.32', haveKubectl))) return undefined;
  const dir = tmpDir(t, 'edgecore-relay-');
  const ports = await relayPorts();
  if (mode === 'embedded') {
    const relay = new RelayProc({ dir, ports, nodes, extra });
    t.after(() => relay.stop('SIGKILL'));
    await relay.start();
    return { mode, dir, relay, reload: async () => undefined, brokerUrl: (j) => j.brokerUrl, down: () => relay.stop(), up: () => relay.start() };
  }
  const ok = await needService(t, 'mosquitto binary', async () => {
    await new Promise<void>((resolve, reject) => {
      const p = spawn('mosquitto', ['-h']);
      p.once('error', reject);
      p.once('exit', () => resolve());
    });
  });
  if (!ok) return undefined;
  const port = await freePort();
  const passwordFile = join(dir, 'mosquitto.passwd');
  const aclFile = join(dir, 'mosquitto.acl');
  // mosquitto's TLS listener certificate comes from the relay's CA (written by the relay)
  const certFile = join(dir, 'mosquitto.crt');
  const keyFile = join(dir, 'mosquitto.key');
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      `certfile ${certFile}`,
      `keyfile ${keyFile}`,
      'allow_anonymous false',
      `password_file ${passwordFile}`,
      `acl_file ${aclFile}`,
      // the relay's session (its subscriptions and queued reports) must survive a broker restart
      'persistence true',
      `persistence_location ${dir}/`,
      'max_queued_messages 100000',
      'user root',
      'use_username_as_clientid true',
      '',
    ].join('\n'),
  );
  const url = `mqtts://127.0.0.1:${port}`;
  const relay = new RelayProc({ dir, ports, nodes, extra, external: { url, password: 'relay-secret', passwordFile, aclFile, certFile, keyFile } });
  t.after(() => relay.stop('SIGKILL'));
  await relay.start(); // writes the password, ACL, certificate and key files
  let mosq: Proc | undefined;
  const startMosq = async (): Promise<void> => {
    const m = new Proc('mosquitto', spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] }));
    mosq = m;
    t.after(() => m.stop('SIGKILL'));
    // a TCP probe: an MQTT probe as _relay would take over (and clean) the relay's session
    await waitFor('mosquitto listening', () =>
      new Promise<boolean>((resolve) => {
        const sock = connect(port, '127.0.0.1', () => {
          sock.destroy();
          resolve(true);
        });
        sock.once('error', () => resolve(false));
      }),
    );
  };
  await startMosq();
  // the relay's session exists once it connected: what nodes publish before would have no subscriber
  await relay.proc!.record('connected to external broker');
  return {
    mode,
    dir,
    relay,
    reload: async (joined = []) => {
      mosq?.child.kill('SIGHUP');
      // the reload is asynchronous: wait until the new credentials are accepted (a clean probe
      // session under the node's name; the node has not connected yet, so there is none to lose)
      for (const j of joined) {
        await waitFor(`mosquitto accepts ${j.node} after the reload`, async () => {
          const c = await mqtt.connectAsync(url, { clientId: j.username, username: j.username, password: j.password, ca: relay.caPem, clean: true, reconnectPeriod: 0, connectTimeout: 5000 });
          await c.endAsync(true);
          return true;
        });
      }
    },
    brokerUrl: () => url,
    down: async () => {
      await relay.stop();
      await mosq?.stop();
    },
    up: async () => {
      await startMosq();
      await relay.start();
      await relay.proc!.record('connected to external broker');
    },
  };
}

/** Join `name` through the relay's API and make (not start) its edgecore process. */
export async function addNode(w: World, name: string, extra: Partial<ConstructorParameters<typeof NodeProc>[0]> = {}): Promise<NodeProc> {
  const j = await w.relay.join(name);
  await w.reload([j]);
  return new NodeProc({ dir: w.dir, name, join: { ...j, brokerUrl: w.brokerUrl(j) }, ...extra });
}

export const cmYaml = (name: string, v: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${name} }\ndata: { v: "${v}" }\n`;

/**
 * A pod bound to `node` that reads these ConfigMaps (optional: they may come later) and Secrets:
 * what makes them go to that node. On a node without edged it is only stored, never run.
 */
export function consumerYaml(name: string, node: string, configMaps: string[], secrets: string[] = []): string {
  const envFrom = configMaps.map((c) => `        - configMapRef: { name: ${c}, optional: true }`).join('\n');
  const env = secrets.map((s, i) => `        - name: S${i}\n          valueFrom: { secretKeyRef: { name: ${s}, key: k, optional: true } }`).join('\n');
  return `apiVersion: v1
kind: Pod
metadata: { name: ${name} }
spec:
  nodeName: ${node}
  containers:
    - name: c
      image: edgecore-test/busybox:1
${envFrom ? `      envFrom:\n${envFrom}\n` : ''}${env ? `      env:\n${env}\n` : ''}`;
}

/** Deployment `web` (2 replicas of busybox) in `ns`; `podSpec` adds YAML lines to its pod spec (6 spaces in). */
export const webDeploymentYaml = (ns: string, podSpec: string[] = []): string => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ${ns}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
${podSpec.map((l) => `      ${l}\n`).join('')}      containers: [{name: c, image: edgecore-test/busybox:1, command: [sleep, "3600"]}]
`;

export const deviceYaml = (node: string): string => `
apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata: { name: thermostat }
spec:
  protocol: virtual
  properties:
    - { name: setpoint, type: INT, accessMode: ReadWrite, minimum: "0", maximum: "100" }
    - { name: temperature, type: FLOAT, accessMode: ReadOnly }
---
apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata: { name: thermo-1 }
spec:
  nodeName: ${node}
  deviceModelRef: { name: thermostat }
  protocol: { protocolName: virtual }
  properties:
    - name: setpoint
      desired: { value: "21" }
      visitors: { protocolName: virtual, configData: { signal: echo, initial: 20 } }
      collectCycle: 200
      reportCycle: 300
      reportToCloud: true
    - name: temperature
      visitors: { protocolName: virtual, configData: { signal: randomWalk, start: 20, step: 1, seed: 3 } }
      collectCycle: 200
      reportCycle: 300
      reportToCloud: true
`;
