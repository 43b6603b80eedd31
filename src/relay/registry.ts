/**
 * The kind validators the relay applies: the generic manifest checks (kinds.ts) plus each kind's
 * own schema (pod.ts, configmap.ts, secret.ts, device.ts), so a bad object is refused at
 * `edgectl apply` with its field paths instead of failing later on the node.
 */
import { parseConfigMap } from '../contract/resources/configmap.js';
import { parseDevice, parseDeviceModel } from '../contract/resources/device.js';
import { KindRegistry } from '../contract/resources/kinds.js';
import { parsePod } from '../contract/resources/pod.js';
import { parseSecret } from '../contract/resources/secret.js';

export function relayKindRegistry(): KindRegistry {
  return new KindRegistry()
    .register('Pod', (m) => void parsePod(m))
    .register('ConfigMap', (m) => void parseConfigMap(m))
    .register('Secret', (m) => void parseSecret(m))
    .register('DeviceModel', (m) => void parseDeviceModel(m))
    .register('Device', (m) => void parseDevice(m));
}
