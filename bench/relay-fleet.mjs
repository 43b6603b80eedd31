/**
 * The fleet arms of bench/relay-scale.mjs (issue 19, docs/scale.md): REPLICAS relay processes over
 * one PostgreSQL store, and either
 *   FLEET_BROKER=embedded  each replica's own embedded broker; a node starts on replica
 *                          (index mod REPLICAS) and moves to the next one when an attempt fails,
 *                          as edgehub does through `relay.urls`;
 *   FLEET_BROKER=nats      a 3-member NATS cluster (JetStream's MQTT) that every replica and every
 *                          node connects to (a node starts on member index mod 3, moves on failure).
 * PostgreSQL is the server .ci/provision.d/postgres.sh starts (EDGECORE_TEST_PG or its default
 * URL); the bench makes a database of its own and drops it at the end.
 */
import { join } from 'node:path';
import pg from 'pg';

export const PG_URL = process.env.EDGECORE_TEST_PG ?? 'postgres://edgecore_test:edgecore-test@127.0.0.1:5432/postgres';

/** How the fleet is run, from the environment; undefined = one relay on its defaults (SQLite). */
export function fleetMode(env = process.env) {
  const replicas = Number(env.REPLICAS ?? 1);
  const broker = env.FLEET_BROKER ?? 'embedded';
  if (!['embedded', 'nats'].includes(broker)) throw new Error(`FLEET_BROKER=${broker}: embedded or nats`);
  if (replicas < 1 || !Number.isInteger(replicas)) throw new Error(`REPLICAS=${env.REPLICAS}: a whole number ≥ 1`);
  if (replicas === 1 && broker === 'embedded' && env.STORE !== 'postgres') return undefined;
  return { replicas, broker, natsMqtt: env.NATS_MQTT ?? '' };
}

async function admin(sql) {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    return await c.query(sql);
  } finally {
    await c.end();
  }
}

/** A database of the bench's own (and the NATS cluster when asked for); `stop()` removes both. */
export async function startBackends(mode, dir) {
  const name = `edgecore_bench_${process.pid}`;
  await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  let nats;
  if (mode.broker === 'nats') {
    const { register } = await import('tsx/esm/api');
    register();
    const { startBrokerCluster } = await import(new URL('../test/helpers/broker-cluster.ts', import.meta.url).href);
    nats = await startBrokerCluster('nats', join(dir, 'nats'), 3, { natsMqtt: mode.natsMqtt || undefined });
  }
  return {
    pgUrl: url.toString(),
    nats,
    async stop() {
      await nats?.stop();
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** The store and election part of replica i's config (YAML). */
export function fleetYaml(backends, i) {
  return `store: { kind: postgres, url: "${backends.pgUrl}" }\nleaderElection: { identity: relay-${i} }\n`;
}

/** The broker section of replica i's config on the NATS cluster (MQTT 3.1.1: NATS 2.9 has no 5; a client id per replica). */
export function natsBrokerYaml(backends, i) {
  const [first, ...rest] = backends.nats.urls;
  return `broker: { mode: external, plaintext: true, external: { url: "${first}", urls: [${rest.map((u) => `"${u}"`).join(', ')}], protocolVersion: 4, clientId: _relay-${i} } }\n`;
}

/** Every simulated node's credentials row, written straight into the shared store (as a join would). */
export async function prefillCredentials(pgUrl, names, hash, check, now) {
  const c = new pg.Client({ connectionString: pgUrl });
  await c.connect();
  try {
    await c.query('BEGIN');
    for (let i = 0; i < names.length; i += 1000) {
      const chunk = names.slice(i, i + 1000);
      const values = chunk.map((_, j) => `($${j * 5 + 1}, $${j * 5 + 2}, $${j * 5 + 3}, $${j * 5 + 4}, $${j * 5 + 5})`).join(', ');
      await c.query(
        `INSERT INTO relay_nodes (name, password_hash, password_check, labels, joined_at) VALUES ${values} ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, password_check = excluded.password_check`,
        chunk.flatMap((n) => [n, hash, check, '{}', now]),
      );
    }
    await c.query('COMMIT');
  } finally {
    await c.end();
  }
}
