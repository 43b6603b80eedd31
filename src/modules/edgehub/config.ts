import { moduleBase } from '../../config/restart.js';
import * as z from 'zod';
import { section } from '../../lib/schema.js';

export const edgehubConfig = section({
  ...moduleBase,
  /** off until the node has joined a relay (`edgecore join` turns it on) */
  enabled: z.boolean().default(false),
  relay: section({
    /** the relay's MQTT URL (mqtt://, mqtts://, ws://, wss://) */
    url: z.string().default(''),
    /**
     * more members of a clustered broker (fleet mode, docs/scale.md): the node's list is `url`
     * then these; it starts on the member its name points at and moves to the next when one fails
     */
    urls: z.array(z.string().regex(/^(mqtts?|wss?):\/\/[^/]/, 'must be an mqtt://, mqtts://, ws:// or wss:// URL')).max(64).default([]),
    username: z.string().default(''),
    password: z.string().default(''),
    /** CA file for mqtts/wss with a private CA */
    caFile: z.string().default(''),
  }),
  heartbeatSeconds: z.number().int().min(1).default(30),
  /** MQTT keepalive; the heartbeat resets the timer, so PINGREQs happen only when heartbeats are off */
  keepaliveSeconds: z.number().int().min(5).max(65535).default(60),
  /** jittered exponential reconnect backoff */
  reconnect: section({
    initialMs: z.number().int().min(10).default(1000),
    maxMs: z.number().int().min(10).default(60_000),
    jitter: z.number().min(0).max(1).default(0.5),
  }),
  /** outbox rows published per window (each acknowledged by the broker before it is removed) */
  flushBatch: z.number().int().min(1).max(10_000).default(100),
  /**
   * how long a queued row may wait for others before the outbox is published, ms: rows queued
   * meanwhile go out together (one write, one delete transaction). 0 (the default): on the next
   * turn of the event loop — a pod's status must not wait (bench/pod-start.mjs), and 100 ms
   * saved no CPU measurable above noise with 50 devices (docs/benchmarks.md)
   */
  flushDelayMs: z.number().int().min(0).max(10_000).default(0),
  outbox: section({
    maxRows: z.number().int().min(10).default(100_000),
    maxBytes: z.number().int().min(1024).default(64 * 1024 * 1024),
    /** apps' messages (docs/appchannel.md): bounded apart from the daemon's own rows */
    app: section({
      maxRows: z.number().int().min(10).default(200_000),
      maxBytes: z.number().int().min(1024).default(128 * 1024 * 1024),
      /** over the bound: drop the oldest queued app messages, or refuse the new one */
      dropPolicy: z.enum(['oldest', 'newest']).default('oldest'),
    }),
  }),
  /** app messages published per window (paced to the node's quota the relay sends) */
  appFlushBatch: z.number().int().min(1).max(10_000).default(100),
});
