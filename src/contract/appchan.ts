/**
 * The application channel's wire contract (docs/appchannel.md): what apps on a node send up and
 * receive down, between the node and the relay. Shared by both sides; neither imports the
 * other's code.
 *
 * Node-local topic space (the node's eventbus broker): an app publishes on a topic a rule names
 * (`<ruleNamespace>/<topic>`, as KubeEdge's router has it) or on KubeEdge's fixed upload spaces
 * (`$hw/events/upload/#`, `SYS/dis/upload_records`, `+/user/#`), which the node always forwards.
 *
 * Channels (below `edgecore/v1/nodes/{node}/`, see topics.ts):
 *
 *   app/up      node → relay  QoS1  AppUp: one app message, from the outbox's app class
 *   app/ack     node → relay  QoS1  AppAck: what became of one downlink message (and a call's reply)
 *   app/down    relay → node  QoS1  AppDown: one message for an app on the node
 *   app/routes  relay → node  QoS1  AppRoutes: the topics the node forwards and its quota
 */
import * as z from 'zod';

/** KubeEdge's upload spaces: always forwarded (whether or not a rule names them). */
export const APP_UPLOAD_FILTERS: readonly string[] = ['$hw/events/upload/#', 'SYS/dis/upload_records', '+/user/#'];

/** The longest app topic accepted, in characters. */
export const MAX_APP_TOPIC = 1024;

/** MQTT topic filter matching: `+` one level, `#` the rest; wildcards never match a `$` topic's first level. */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** Why `topic` is not a topic an app may publish on, or undefined when it is. */
export function appTopicProblem(topic: string): string | undefined {
  if (topic.length === 0) return 'must not be empty';
  if (topic.length > MAX_APP_TOPIC) return `must be at most ${MAX_APP_TOPIC} characters`;
  if (topic.includes('+') || topic.includes('#') || topic.includes('\u0000')) return 'must not contain +, # or NUL';
  return undefined;
}

/**
 * The node-local filter an eventbus-source rule's topic names. KubeEdge's router form is
 * `<ruleNamespace>/<topic>`; a topic already in one of the fixed upload spaces is taken as it is;
 * a trailing `/#` (an edgecore extension) covers the subtree.
 */
export function ruleTopicFilter(namespace: string, topic: string): string {
  if (topic.startsWith('$hw/events/upload/') || topic === 'SYS/dis/upload_records') return topic;
  return `${namespace}/${topic}`;
}

/** Whether a message on `topic` leaves the node: a fixed upload space, or a filter the relay sent. */
export function forwarded(filters: readonly string[], topic: string): boolean {
  return APP_UPLOAD_FILTERS.some((f) => topicMatches(f, topic)) || filters.some((f) => topicMatches(f, topic));
}

// ---------------------------------------------------------------- payload bodies

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A payload as JSON carries it: `payload` when the bytes are UTF-8 text, else `payloadBase64`. */
export function encodeBody(buf: Buffer): { payload: string } | { payloadBase64: string } {
  try {
    return { payload: utf8.decode(buf) };
  } catch {
    return { payloadBase64: buf.toString('base64') };
  }
}

export function decodeBody(m: { payload?: string | undefined; payloadBase64?: string | undefined }): Buffer {
  if (m.payloadBase64 !== undefined) return Buffer.from(m.payloadBase64, 'base64');
  return Buffer.from(m.payload ?? '', 'utf8');
}

/** 4 MiB of text at most in one body field; the relay's own limit (maxMessageBytes) is checked on the bytes. */
const body = {
  payload: z.string().max(4 * 1024 * 1024).optional(),
  payloadBase64: z
    .string()
    .max(4 * 1024 * 1024)
    .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64')
    .optional(),
};
const oneBody = <T extends { payload?: unknown; payloadBase64?: unknown }>(m: T): boolean => !(m.payload !== undefined && m.payloadBase64 !== undefined);
const oneBodyMessage = { message: 'payload and payloadBase64 are exclusive', path: ['payloadBase64'] };

const ms = z.number().int().min(0).max(8.64e15);
const count = z.number().int().min(0);
const appTopic = z.string().superRefine((t, ctx) => {
  const p = appTopicProblem(t);
  if (p) ctx.addIssue({ code: 'custom', message: p });
});

/** node → relay on `app/up`: one message an app published (or posted) on the node. */
export const appUpSchema = z
  .object({
    /** the node-local topic it was published on */
    topic: appTopic,
    ...body,
    /** when the node accepted it (ms) */
    time: ms,
    /** stamped by edgehub when sending: the outbox sequence and the node store's stream id */
    seq: z.number().int().min(1).optional(),
    stream: z.string().min(1).max(64).optional(),
  })
  .refine(oneBody, oneBodyMessage);
export type AppUp = z.output<typeof appUpSchema>;

/** The per-node quota the relay enforces (and the node paces its app uplink to). */
export const appQuotaSchema = z.object({
  messagesPerSecond: z.number().min(0.001).max(1e7),
  burst: count.max(1e8),
  bytesPerSecond: z.number().min(1).max(1e12),
  maxMessageBytes: z.number().int().min(1).max(16 * 1024 * 1024),
});
export type AppQuota = z.output<typeof appQuotaSchema>;

/** relay → node on `app/routes`: which node-local topics leave the node, and its quota. */
export const appRoutesSchema = z.object({
  /** the relay's store; a new epoch restarts version ordering */
  epoch: z.string().min(1).max(128),
  version: count,
  /** node-local topic filters (besides the fixed upload spaces) */
  filters: z.array(z.string().min(1).max(MAX_APP_TOPIC + 64)).max(10_000),
  quota: appQuotaSchema,
  timestamp: ms,
});
export type AppRoutes = z.output<typeof appRoutesSchema>;

const headerMap = z.record(z.string().max(256), z.string().max(8192));

/** Where a downlink message goes on the node. */
export const appTargetSchema = z.discriminatedUnion('type', [
  /** published on the node-local broker (KubeEdge's eventbus target) */
  z.object({ type: z.literal('eventbus'), topic: appTopic }),
  /** an HTTP call to an app on the node's loopback (KubeEdge's servicebus target) */
  z.object({
    type: z.literal('servicebus'),
    port: z.number().int().min(1).max(65535),
    /** path and query, starting with / */
    path: z.string().min(1).max(8192).startsWith('/'),
    method: z.string().regex(/^[A-Z]{1,16}$/, 'must be an HTTP method in capitals'),
    headers: headerMap,
  }),
]);
export type AppTarget = z.output<typeof appTargetSchema>;

/** relay → node on `app/down`: one message for an app on the node, numbered per relay stream. */
export const appDownSchema = z
  .object({
    /** the relay's downlink stream (its store) and this message's number in it, increasing */
    stream: z.string().min(1).max(128),
    id: z.number().int().min(1),
    /** not delivered after this time (ms) */
    expires: ms,
    /** `namespace/name` of the rule that sent it */
    rule: z.string().min(1).max(320),
    target: appTargetSchema,
    ...body,
    /** the sender waits for the app's answer (servicebus): the ack carries it */
    reply: z.boolean(),
  })
  .refine(oneBody, oneBodyMessage);
export type AppDown = z.output<typeof appDownSchema>;

export const APP_OUTCOMES = ['delivered', 'expired', 'failed'] as const;

/** node → relay on `app/ack`: what became of one downlink message. */
export const appAckSchema = z.object({
  stream: z.string().min(1).max(128),
  id: z.number().int().min(1),
  outcome: z.enum(APP_OUTCOMES),
  error: z.string().max(4096).optional(),
  /** a servicebus call's answer, when the sender waits for it */
  reply: z
    .object({ status: z.number().int().min(100).max(599), headers: headerMap, ...body })
    .refine(oneBody, oneBodyMessage)
    .optional(),
  time: ms,
});
export type AppAck = z.output<typeof appAckSchema>;
