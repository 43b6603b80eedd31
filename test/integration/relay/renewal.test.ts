/**
 * A running relay renews its certificates as a start would (a daily timer; here called with the
 * relay's clock moved 300 days on): the API, MQTT-over-TLS and wss listeners then serve the new
 * certificate, from the same CA; before anything is due nothing changes.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { connect } from 'node:tls';
import { nullLogger } from '../../../src/core/logger.js';
import { parseRelayConfig } from '../../../src/relay/config.js';
import { startRelay } from '../../../src/relay/relay.js';
import { tmpDir } from '../../helpers/tmp.js';

/** the certificate a TLS port serves (PEM); not verified here: a renewed one may start in the relay's future */
const served = (url: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const u = new URL(url);
    const s = connect({ host: u.hostname, port: Number(u.port), rejectUnauthorized: false, servername: 'localhost' }, () => {
      const raw = s.getPeerCertificate().raw;
      s.destroy();
      resolve(new X509Certificate(raw).toString());
    });
    s.once('error', reject);
  });

test('a running relay renews its serving certificate and hands it to the API, mqtts and wss listeners', async (t) => {
  let clock = Date.now();
  const config = parseRelayConfig({
    dataDir: tmpDir(t, 'edgecore-renew-'),
    api: { host: '127.0.0.1', port: 0 },
    broker: { host: '127.0.0.1', tls: { port: 0 }, ws: { port: 0 } },
  });
  const relay = await startRelay(config, nullLogger(), () => new Date(clock));
  t.after(() => relay.stop());
  const urls = [relay.apiUrl, relay.broker.mqtts!, relay.broker.ws!];
  const before = await Promise.all(urls.map(served));
  assert.equal(new Set(before).size, 1, 'one serving certificate for all three');
  assert.equal(await relay.renewCertificates(), false, 'nothing due');
  assert.deepEqual(await Promise.all(urls.map(served)), before);

  clock += 300 * 86_400_000; // 65 days left: inside the 90-day window
  assert.equal(await relay.renewCertificates(), true);
  const after = await Promise.all(urls.map(served));
  assert.equal(new Set(after).size, 1);
  assert.notEqual(after[0], before[0], 'the listeners serve the renewed certificate');
  const ca = new X509Certificate(relay.pki!.caPem);
  const renewed = new X509Certificate(after[0]!);
  assert.ok(renewed.verify(ca.publicKey), 'signed by the same CA');
  assert.ok(new Date(renewed.validTo).getTime() > clock + 300 * 86_400_000);
});
