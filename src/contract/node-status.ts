/**
 * What a node reports about its machine and whether it can run pods, for the Node object the
 * relay keeps (nodeInfo, addresses, capacity, the Ready condition). It travels in the node's
 * status report (NodeReportedStatus) as `system` and `runtime`, both optional — a node that
 * omits them still gets a Node. Strings end up in `kubectl get` cells and terminals, so control
 * characters are refused; sizes are bytes.
 */
import { isIP } from 'node:net';
import * as z from 'zod';

export const printable = (max: number) => z.string().max(max).regex(/^[^\u0000-\u001f\u007f-\u009f]*$/, 'must not contain control characters');
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
});
export type NodeSystemInfo = z.output<typeof nodeSystemInfoSchema>;

/** Can the node run pods now (its container engine answers)? Absent means yes. */
export const nodeRuntimeSchema = z.strictObject({ ready: z.boolean(), message: printable(1024).optional() });
export type NodeRuntime = z.output<typeof nodeRuntimeSchema>;
