/**
 * What a node reports about its machine and whether it can run pods, for the Node object the
 * relay keeps (nodeInfo, addresses, capacity, the Ready condition). It travels in the node's
 * status report (NodeReportedStatus) as `system` and `runtime`, both optional — a node that
 * omits them still gets a Node. `conditions` and `usage` (below) are the node's own findings
 * about pressure, throttling and what it uses. Strings end up in `kubectl get` cells and terminals, so control
 * characters are refused; sizes are bytes.
 */
import { isIP } from 'node:net';
import * as z from 'zod';

// biome-ignore lint/suspicious/noControlCharactersInRegex: the rule is to refuse exactly these characters
const CONTROL_FREE = /^[^\u0000-\u001f\u007f-\u009f]*$/;
/** A string without control characters (it ends up in kubectl cells and terminals). */
export const printable = (max: number) => z.string().max(max).regex(CONTROL_FREE, 'must not contain control characters');
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const nodeSystemInfoSchema = z.strictObject({
  hostname: printable(253).optional(),
  /** e.g. "Debian GNU/Linux 12 (bookworm)" (os-release PRETTY_NAME) */
  osImage: printable(256).optional(),
  /** uname -r */
  kernelVersion: printable(256).optional(),
  /** e.g. "docker://24.0.7" */
  containerRuntimeVersion: printable(256).optional(),
  machineID: printable(128).optional(),
  systemUUID: printable(128).optional(),
  /** the node's IP addresses, preferred first */
  addresses: z
    .array(z.string().refine((s) => isIP(s) !== 0, 'must be an IP address'))
    .max(16)
    .optional(),
  cpus: count.max(4096).optional(),
  memoryBytes: count.optional(),
  ephemeralStorageBytes: count.optional(),
  /** pods the node accepts (Kubernetes' default is 110) */
  maxPods: count.max(10_000).optional(),
  /** what pods may use: capacity less the node's reservations (absent: all of it) */
  allocatable: z
    .strictObject({
      cpuMillis: count.optional(),
      memoryBytes: count.optional(),
      ephemeralStorageBytes: count.optional(),
    })
    .optional(),
});
export type NodeSystemInfo = z.output<typeof nodeSystemInfoSchema>;

/** Can the node run pods now (its container engine answers)? Absent means yes. */
export const nodeRuntimeSchema = z.strictObject({ ready: z.boolean(), message: printable(1024).optional() });
export type NodeRuntime = z.output<typeof nodeRuntimeSchema>;

/**
 * A node condition as the node finds it about itself (Kubernetes NodeCondition-shaped, without
 * the heartbeat: the relay's clock decides liveness). MemoryPressure, DiskPressure, PIDPressure,
 * and on a Raspberry Pi UnderVoltage and Throttled; the relay merges them with its own Ready.
 */
export const nodeConditionSchema = z.strictObject({
  type: z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,62}$/, 'must be a condition type (letters and digits, at most 63)'),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,127}$/, 'must be a CamelCase reason').optional(),
  message: printable(1024).optional(),
  /** when the status last changed (RFC 3339) */
  lastTransitionTime: z.iso.datetime({ offset: true }),
});
export type NodeCondition = z.output<typeof nodeConditionSchema>;

const bytes = count;
/** a filesystem the node cares about: its data dir, Docker's root */
export const nodeDiskSchema = z.strictObject({
  role: z.enum(['data', 'docker']),
  path: printable(4096),
  totalBytes: bytes,
  availableBytes: bytes,
  inodesTotal: count.optional(),
  inodesFree: count.optional(),
});

/**
 * The Raspberry Pi firmware's throttled word (vcgencmd get_throttled, or the kernel's
 * `get_throttled` file): bits 0-3 now, bits 16-19 since boot.
 */
export const throttledSchema = z.strictObject({
  /** the raw word */
  flags: count.max(0xffffffff),
  underVoltage: z.boolean(),
  frequencyCapped: z.boolean(),
  throttled: z.boolean(),
  softTempLimit: z.boolean(),
  underVoltageOccurred: z.boolean(),
  frequencyCappedOccurred: z.boolean(),
  throttledOccurred: z.boolean(),
  softTempLimitOccurred: z.boolean(),
});
export type Throttled = z.output<typeof throttledSchema>;

/**
 * What the node uses now, sampled; sent only when it moved past the node's deadbands, so the
 * figures are as fresh as their deadband, not as the sample period.
 */
export const nodeUsageSchema = z.strictObject({
  /** cores busy, averaged over the last sample period (0 .. cpus) */
  cpuCores: z.number().min(0).max(4096),
  memory: z.strictObject({ totalBytes: bytes, availableBytes: bytes }),
  disks: z.array(nodeDiskSchema).max(8),
  /** 1, 5 and 15 minute load averages */
  load: z.tuple([z.number().min(0), z.number().min(0), z.number().min(0)]),
  /** processes and threads running, and the kernel's limit (pid_max) */
  processes: z.strictObject({ count: count, max: count }),
  /** the SoC's temperature, when the kernel shows one */
  temperatureC: z.number().min(-100).max(250).optional(),
  /** when the machine booted (RFC 3339); uptime is now minus this */
  bootTime: z.iso.datetime({ offset: true }),
  throttled: throttledSchema.optional(),
});
export type NodeUsage = z.output<typeof nodeUsageSchema>;

/** The node's host report: the sections the node status sampler owns in the node's status report. */
export const nodeHostReportSchema = z.strictObject({
  system: nodeSystemInfoSchema.optional(),
  runtime: nodeRuntimeSchema.optional(),
  conditions: z.array(nodeConditionSchema).max(16).optional(),
  usage: nodeUsageSchema.optional(),
});
export type NodeHostReport = z.output<typeof nodeHostReportSchema>;
