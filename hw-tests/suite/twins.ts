/**
 * The daemon's twins as an app on the node sees them over the eventbus (its embedded MQTT broker,
 * KubeEdge mapper topics): every `twin/update/document` is recorded with its arrival time (for the
 * latency figures), and desired values are sent as `twin/update` with `expected`.
 */
import { randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { until } from './harness.js';

export interface TwinEvent {
  device: string;
  property: string;
  value: string;
  /** performance.now() at arrival */
  at: number;
}

const DOC = /^\$hw\/events\/device\/default\/([^/]+)\/twin\/update\/document$/;
const RESULT = /^\$hw\/events\/device\/default\/([^/]+)\/twin\/update\/result$/;

export class TwinWatch {
  readonly events: TwinEvent[] = [];
  readonly errors: string[] = [];

  private constructor(private readonly client: MqttClient) {
    client.on('message', (topic, payload) => {
      const at = performance.now();
      let m = DOC.exec(topic);
      if (m) {
        const body = JSON.parse(payload.toString()) as { twin?: Record<string, { current?: { actual?: { value?: string } } | null }> };
        for (const [property, t] of Object.entries(body.twin ?? {})) {
          const value = t?.current?.actual?.value;
          if (value !== undefined) this.events.push({ device: m[1]!, property, value, at });
        }
        return;
      }
      m = RESULT.exec(topic);
      if (m) {
        const body = JSON.parse(payload.toString()) as { code?: number; reason?: string };
        if (body.code) this.errors.push(`${m[1]}: ${body.code} ${body.reason ?? ''}`);
      }
    });
  }

  /** Connect (the client reconnects and resubscribes by itself when the daemon restarts). */
  static async connect(port: number): Promise<TwinWatch> {
    const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { clientId: `hil-${randomUUID().slice(0, 8)}`, reconnectPeriod: 200, connectTimeout: 10_000 });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await client.subscribeAsync(['$hw/events/device/default/+/twin/update/document', '$hw/events/device/default/+/twin/update/result'], { qos: 1 });
    return new TwinWatch(client);
  }

  /** The arrival time of the first report of `value` for device/property after `since`. */
  async reportedAfter(device: string, property: string, value: string, since: number, limitMs = 20_000): Promise<number> {
    return until(
      `${device}.${property} reported as ${value}`,
      () => this.events.find((e) => e.at >= since && e.device === device && e.property === property && e.value === value)?.at,
      limitMs,
      2,
    );
  }

  count(device: string, property: string, since: number): TwinEvent[] {
    return this.events.filter((e) => e.at >= since && e.device === device && e.property === property);
  }

  async setDesired(device: string, values: Record<string, string>): Promise<void> {
    const twin = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { expected: { value: v } }]));
    await this.client.publishAsync(`$hw/events/device/default/${device}/twin/update`, JSON.stringify({ event_id: randomUUID(), timestamp: Date.now(), twin }), { qos: 1 });
  }

  get connected(): boolean {
    return this.client.connected;
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
