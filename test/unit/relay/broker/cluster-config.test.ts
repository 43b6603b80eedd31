import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../../../src/core/errors.js';
import { parseRelayConfig } from '../../../../src/relay/config.js';

const refusal = (v: unknown): string => {
  try {
    parseRelayConfig(v, 'relay.yaml');
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.message;
  }
  assert.fail('accepted');
};

const fleet = { url: 'mqtts://b0.example:8883', urls: ['mqtts://b1.example:8883', 'mqtts://b2.example:8883'], protocolVersion: 4 };

test('broker.external: one URL and MQTT 5 by default; a cluster lists more members and may speak 3.1.1', () => {
  const d = parseRelayConfig({}).broker.external;
  assert.deepEqual([d.urls, d.protocolVersion], [[], 5]);
  const c = parseRelayConfig({ broker: { mode: 'external', plaintext: false, external: fleet } }).broker.external;
  assert.deepEqual([c.url, c.urls, c.protocolVersion], [fleet.url, fleet.urls, 4]);
  const p = parseRelayConfig({ broker: { publicUrl: 'mqtts://a:8883', publicUrls: ['mqtts://b:8883'] } }).broker;
  assert.deepEqual(p.publicUrls, ['mqtts://b:8883']);
});

test('a wrong cluster config is refused naming the file and the field', () => {
  assert.match(refusal({ broker: { mode: 'external', external: { ...fleet, urls: ['http://b1'] } } }), /relay\.yaml[\s\S]*broker\.external\.urls\[0\][\s\S]*mqtt:\/\//);
  assert.match(refusal({ broker: { mode: 'external', external: { ...fleet, protocolVersion: 3 } } }), /broker\.external\.protocolVersion/);
  assert.match(refusal({ broker: { external: { urls: ['mqtts://b1:8883'] } } }), /broker\.external\.urls[\s\S]*broker\.mode: external only/);
  assert.match(refusal({ broker: { publicUrls: ['mqtts://b1:8883'] } }), /broker\.publicUrls[\s\S]*needs broker\.publicUrl/);
  // every member handed to nodes is held to the plain-URL rule, named by its index
  assert.match(refusal({ broker: { mode: 'external', external: { ...fleet, urls: ['mqtts://b1:8883', 'mqtt://b2:1883'] } } }), /broker\.external\.urls\[1\][\s\S]*plain URL/);
  assert.match(refusal({ broker: { publicUrl: 'mqtts://a:8883', publicUrls: ['ws://b/mqtt'] } }), /broker\.publicUrls\[0\][\s\S]*plain URL/);
});
