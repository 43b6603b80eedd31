/**
 * Failover across nodes (fleet.ts: a relay and two nodes on one LAN, each in a host of its own):
 * a Service with an endpoint on node A (the client's own) and one on node C. Both answer while
 * both nodes run. C's edgecore is killed (its pod keeps running: only the node is gone): the
 * relay sees C NotReady, its endpoint stops being ready in the EndpointSlice, A gets the slice, and
 * from then on every connection goes to A's endpoint without even trying C (A's failed dials stop
 * growing). The time from the kill to A routing around C is printed (a figure, not asserted).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from '../relay/harness.js';
import { clientPod, exec, WEB_SERVICE, webPod } from './harness.js';
import { containerOf, metric, startFleet } from './fleet.js';

interface Slice {
  endpoints?: { addresses: string[]; nodeName?: string; conditions?: { ready?: boolean; serving?: boolean } }[];
}

test("failover: an endpoint on a node that goes away is dropped from routing once the node is NotReady; the other endpoint answers", { timeout: 400_000 }, async (t) => {
  const f = await startFleet(t, { count: 2, lans: [[0, 1]] });
  if (!f) return;
  const [a, c] = f.nodes as [(typeof f.nodes)[0], (typeof f.nodes)[0]];
  const applied = f.relay.apply(webPod('web-a', a.name, 'hello-from-a') + webPod('web-c', c.name, 'hello-from-c') + clientPod(a.name) + WEB_SERVICE);
  assert.equal(applied.code, 0, applied.err);
  const slice = (): Slice | undefined => f.relay.getJson<{ items: Slice[] }>('endpointslices', '-l', 'kubernetes.io/service-name=web')?.items[0];
  const cIp = await waitFor('both endpoints ready', () => {
    const eps = slice()?.endpoints ?? [];
    return eps.length === 2 && eps.every((e) => e.conditions?.ready) ? eps.find((e) => e.nodeName === c.name)?.addresses[0] : undefined;
  }, 180_000);
  const client = await waitFor('the client container', () => containerOf(f, a.name, 'client', 'sh'), 120_000);
  const ask = async (): Promise<string> => (await exec(client, 'wget', '-q', '-O', '-', 'http://web/index.html')).out.trim();
  const seen = new Set<string>();
  await waitFor('both endpoints answering the client on A', async () => {
    seen.add(await ask());
    return seen.has('hello-from-a') && seen.has('hello-from-c');
  }, 120_000);

  // C goes away (its pod stays: only the node is gone)
  const killed = Date.now();
  await c.node.stop('SIGKILL');
  await waitFor("C's endpoint no longer ready in the relay's slice (C NotReady)", () => slice()?.endpoints?.find((e) => e.nodeName === c.name)?.conditions?.ready === false, 60_000);
  const relaySaw = Date.now() - killed;
  await waitFor('A holding the slice with C not ready', () => {
    const s = a.node.resources('EndpointSlice')[0];
    const eps = s ? ((JSON.parse(s.spec) as Slice).endpoints ?? []) : [];
    return eps.some((e) => e.addresses[0] === cIp && e.conditions?.ready === false);
  }, 60_000);
  const aRouted = Date.now() - killed;
  // from then on (A's table follows the stored change): rounds where every answer is A's and no dial to C is even tried
  await waitFor('a round of connections that all go to A without trying C', async () => {
    const failed = await metric(a, 'mesh_dial_failures_total', 'path="direct"');
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) answers.push(await ask());
    return answers.every((x) => x === 'hello-from-a') && (await metric(a, 'mesh_dial_failures_total', 'path="direct"')) === failed;
  }, 30_000);
  console.log(JSON.stringify({ figure: 'failover', killToSliceNotReadyMs: relaySaw, killToNodeHoldsItMs: aRouted }));
});
