import { moduleBase } from '../../config/restart.js';
import { section, z } from '../../lib/schema.js';

export const edgedConfig = section({
  ...moduleBase,
  /** folder of static pod YAML files (kubelet's staticPodPath); empty = off */
  staticPodPath: z.string().default('/etc/edgecore/manifests'),
  /** periodic full reconcile, seconds */
  resyncSeconds: z.number().int().min(1).default(60),
});
