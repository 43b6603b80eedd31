import { isIP } from 'node:net';
import { moduleBase } from '../../config/restart.js';
import * as z from 'zod';
import { section } from '../../lib/schema.js';
import { MAX_ADDRESSES, parseCidr } from './addresses.js';

export const nodestatusConfig = section({
  ...moduleBase,
  /** how often the host is sampled (only changes past the deadbands go up) */
  periodSeconds: z.number().int().min(1).max(3600).default(10),
  /** how often the slow facts (OS, machine ids, container runtime version) are read again */
  factsSeconds: z.number().int().min(60).default(3600),
  /**
   * The Raspberry Pi firmware's throttled flags (a hex word); '' = `<paths.sysfs>/devices/platform/soc/soc:firmware/get_throttled`.
   * Absent on other boards: no UnderVoltage/Throttled conditions then.
   */
  throttledFile: z.string().default(''),
  /** conditions: pressure when less than this is left (kubelet's eviction signals) */
  thresholds: section({
    memoryAvailableBytes: z.number().int().min(0).default(100 * 1024 * 1024),
    diskAvailablePercent: z.number().min(0).max(100).default(10),
    inodesFreePercent: z.number().min(0).max(100).default(5),
    pidsAvailablePercent: z.number().min(0).max(100).default(5),
  }),
  /** a new usage report goes up only when a figure moved by at least this much */
  deadbands: section({
    cpuCores: z.number().min(0).default(0.25),
    memoryBytes: z.number().int().min(0).default(32 * 1024 * 1024),
    diskBytes: z.number().int().min(0).default(256 * 1024 * 1024),
    load: z.number().min(0).default(0.5),
    temperatureC: z.number().min(0).default(3),
    processes: z.number().int().min(0).default(50),
  }),
  /**
   * usage for `kubectl top` (the node's and its pods' CPU and memory, from the engine's container
   * stats), sampled with the status and sent up only when a figure moved by its deadband
   */
  metrics: section({
    enabled: z.boolean().default(true),
    cpuMillicores: z.number().int().min(0).default(5),
    memoryBytes: z.number().int().min(0).default(1024 * 1024),
  }),
  /** what the node keeps for itself: allocatable = capacity − reserved (kubelet's system-reserved) */
  reserved: section({
    cpuMillis: z.number().int().min(0).default(0),
    memoryBytes: z.number().int().min(0).default(0),
    ephemeralStorageBytes: z.number().int().min(0).default(0),
  }),
  maxPods: z.number().int().min(1).max(10_000).default(110),
  /**
   * The addresses reported on the Node (what peers dial: addresses.ts). Besides these, loopback,
   * link-local, the mesh's interface and Service range and the engine's networks are never reported.
   */
  addresses: section({
    /** report exactly these, in this order (kubelet's --node-ip); [] = found from the interfaces */
    pinned: z
      .array(z.string().refine((s) => isIP(s) !== 0, 'must be an IP address'))
      .max(MAX_ADDRESSES)
      .default([]),
    /** interfaces whose addresses are never reported (`*` matches any characters) */
    excludeInterfaces: z
      .array(z.string().regex(/^[a-zA-Z0-9_.@*-]{1,15}$/, 'must be an interface name, `*` allowed'))
      .default(['docker*', 'br-*', 'veth*', 'virbr*', 'cni*', 'flannel*', 'cali*', 'vxlan*']),
    /** address ranges never reported, `<address>/<prefix>` */
    excludeCIDRs: z.array(z.string().refine((s) => parseCidr(s) !== undefined, 'must be <address>/<prefix>')).default([]),
  }),
});
export type NodestatusConfig = z.output<typeof nodestatusConfig>;
