/** Device samples at the node link's edge: one message per device report, one log row per sample; older nodes' single samples still read. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TWIN_REPORTED, TWIN_SAMPLES } from '../../../../src/contract/payloads.js';
import { linkFixture, telemetry } from './fixture.js';

const sample = (property: string, value: string, extra: Record<string, unknown> = {}) => ({ property, value, type: 'float', sampledAt: Date.UTC(2026, 0, 1), ...extra });

test('twin.samples: each sample becomes its own twin.reported row with the message seq; sent again, nothing is added', async (t) => {
  const f = await linkFixture(t);
  await f.join('n1');
  const agg = { min: 1, max: 3, mean: 2, count: 5 };
  const msg = telemetry('Device', 'default', 'thermo', TWIN_SAMPLES, { samples: [sample('temperature', '21.5', { aggregate: agg }), sample('setpoint', '21')] });
  await f.send('n1', 'reported/telemetry', msg);
  await f.send('n1', 'reported/telemetry', msg);
  // an older node: one sample per message, kept as it came
  await f.send('n1', 'reported/telemetry', telemetry('Device', 'default', 'thermo', TWIN_REPORTED, sample('setpoint', '22')));
  const rows = f.relay.listTelemetry({ node: 'n1' });
  assert.deepEqual(
    rows.map((r) => [r.event, (r.data as { property: string }).property, (r.data as { value: string }).value, r.seq]),
    [
      [TWIN_REPORTED, 'temperature', '21.5', msg.seq],
      [TWIN_REPORTED, 'setpoint', '21', msg.seq],
      [TWIN_REPORTED, 'setpoint', '22', msg.seq! + 1],
    ],
  );
  assert.deepEqual((rows[0]!.data as { aggregate: unknown }).aggregate, agg);
  assert.equal(f.link.ingress.counters.duplicates, 1);
});

test('twin.samples that do not parse are refused with field paths and add nothing', async (t) => {
  const f = await linkFixture(t);
  await f.join('n1');
  const rejected = f.link.ingress.counters.rejected;
  for (const data of [{ samples: [] }, { samples: [{ property: '', value: '1', type: 'int', sampledAt: 1 }] }, { samples: [sample('t', '1', { sampledAt: -1 })] }, { nope: 1 }, 'x']) {
    await f.send('n1', 'reported/telemetry', telemetry('Device', 'default', 'thermo', TWIN_SAMPLES, data));
  }
  assert.equal(f.link.ingress.counters.rejected, rejected + 5);
  assert.deepEqual(f.relay.listTelemetry({ node: 'n1' }), []);
});
