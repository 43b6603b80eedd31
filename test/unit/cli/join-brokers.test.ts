import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { writeJoinedConfig } from '../../../src/cli/edgecore/join.js';
import { tmpDir } from '../../helpers/tmp.js';

const joined = { node: 'n1', username: 'n1', password: 'pw', brokerUrl: 'mqtts://b0:8883' };

test('join writes a clustered broker\'s members to edgehub.relay.urls, and a later join to one broker drops them', (t) => {
  const file = join(tmpDir(t), 'edgecore.yaml');
  writeJoinedConfig(file, { ...joined, brokerUrls: ['mqtts://b1:8883', 'mqtts://b2:8883'] });
  const relay = () => parse(readFileSync(file, 'utf8')).modules.edgehub.relay;
  assert.deepEqual([relay().url, relay().urls], ['mqtts://b0:8883', ['mqtts://b1:8883', 'mqtts://b2:8883']]);
  writeJoinedConfig(file, joined);
  assert.deepEqual([relay().url, relay().urls], ['mqtts://b0:8883', undefined]);
});

test('a join answer with a member that is no MQTT URL is refused before anything is written', (t) => {
  const file = join(tmpDir(t), 'edgecore.yaml');
  assert.throws(() => writeJoinedConfig(file, { ...joined, brokerUrls: ['http://evil'] }), /modules\.edgehub\.relay\.urls\[0\]/);
  assert.throws(() => readFileSync(file), /ENOENT/);
});
