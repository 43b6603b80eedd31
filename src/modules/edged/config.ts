import { moduleBase } from '../../config/restart.js';
import * as z from 'zod';
import { section } from '../../lib/schema.js';

export const edgedConfig = section({
  ...moduleBase,
  /** folder of static pod YAML files (kubelet's staticPodPath); empty = off */
  staticPodPath: z.string().default('/etc/edgecore/manifests'),
  /** how often the static pod folder is re-read, seconds (changes are also watched) */
  staticPodScanSeconds: z.number().int().min(1).default(20),
  /** periodic full reconcile, seconds */
  resyncSeconds: z.number().int().min(1).default(60),
  /** CrashLoopBackOff: first delay and cap, seconds (Kubernetes: 10 s doubling, 5 min cap) */
  crashLoop: section({
    initialSeconds: z.number().min(0).default(10),
    maxSeconds: z.number().min(0).default(300),
    /** a container that ran this long before exiting restarts without delay */
    resetSeconds: z.number().min(0).default(600),
  }),
  /** ImagePullBackOff after a failed pull: first delay and cap, seconds */
  pullBackoff: section({
    initialSeconds: z.number().min(0).default(10),
    maxSeconds: z.number().min(0).default(300),
  }),
  /** the per-pod container holding the network namespace (see docs/edged.md) */
  sandbox: section({
    /** image of the sandbox; empty = the pod's first container's image (no pause image needed) */
    image: z.string().default(''),
    /** its command: anything that blocks forever; docker-init (tini) runs it as PID 1 */
    command: z.array(z.string()).min(1).default(['sleep', 'infinity']),
    /**
     * a pod with a single container (no init containers, no env reading its own IP) gets no
     * sandbox: the container holds its own network namespace (see docs/edged.md)
     */
    skipForSingleContainer: z.boolean().default(true),
  }),
  /** Docker network pods join (bridge: each pod gets its own IP) */
  network: z.string().default('bridge'),
});
