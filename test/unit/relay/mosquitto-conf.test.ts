/** The mosquitto config fragment the relay writes: its trust settings, the packet limit, nothing injectable. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mosquittoConfFile } from '../../../src/relay/mosquitto.js';
import { parseRelayConfig, relayConfigIssues } from '../../../src/relay/config.js';

test('mosquitto config: no anonymous clients, the generated files, and max_packet_size', () => {
  const conf = mosquittoConfFile({ passwordFile: '/etc/mosquitto/edge.passwd', aclFile: '/etc/mosquitto/edge.acl', maxPacketBytes: 16 * 1024 * 1024 });
  const settings = conf.split('\n').filter((l) => l && !l.startsWith('#'));
  assert.deepEqual(settings, ['allow_anonymous false', 'password_file /etc/mosquitto/edge.passwd', 'acl_file /etc/mosquitto/edge.acl', 'max_packet_size 16777216']);
  // a path cannot smuggle in a second setting
  assert.throws(() => mosquittoConfFile({ passwordFile: '/x\nallow_anonymous true', aclFile: '/a', maxPacketBytes: 1 << 20 }), /passwordFile must be set \(one line\)/);
  assert.throws(() => mosquittoConfFile({ passwordFile: '/x', aclFile: '', maxPacketBytes: 1 << 20 }), /aclFile/);
});

test('broker.external.confFile needs the password and ACL files', () => {
  const broker = (external: Record<string, string>) => ({ broker: { mode: 'external', plaintext: true, external: { url: 'mqtt://127.0.0.1:1883', confFile: '/etc/mosquitto/conf.d/edge.conf', ...external } } });
  assert.throws(() => parseRelayConfig(broker({})), /broker\.external\.confFile: needs broker\.external\.passwordFile and aclFile/);
  assert.deepEqual(relayConfigIssues(parseRelayConfig(broker({ passwordFile: '/p', aclFile: '/a' }))), []);
});
