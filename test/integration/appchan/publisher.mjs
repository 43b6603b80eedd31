// A test app (runs in a pod): publishes COUNT messages QoS 1 on the node's eventbus, round-robin
// over TOPICS, each `{i, n}` (i: overall, n: per topic), one at a time, waiting for each PUBACK.
// Keeps going through broker restarts (mqtt.js resends what was not acknowledged), then idles.
import mqtt from 'mqtt';

const topics = process.env.TOPICS.split(',');
const count = Number(process.env.COUNT);
const interval = Number(process.env.INTERVAL_MS ?? '0');
const log = (o) => console.log(JSON.stringify(o));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const c = mqtt.connect(process.env.BROKER, { clientId: process.env.CLIENT_ID, reconnectPeriod: 200, connectTimeout: 2000 });
c.on('connect', () => log({ event: 'connected' }));
c.on('close', () => log({ event: 'closed' }));
c.on('error', (e) => log({ event: 'error', message: e.message }));
await new Promise((r) => c.once('connect', r));
const per = topics.map(() => 0);
for (let i = 0; i < count; i++) {
  const k = i % topics.length;
  await c.publishAsync(topics[k], JSON.stringify({ i, n: per[k]++ }), { qos: 1 });
  if (i % 100 === 99) log({ event: 'acked', i });
  if (interval) await sleep(interval);
}
log({ event: 'done', count });
setInterval(() => {}, 1 << 30);
