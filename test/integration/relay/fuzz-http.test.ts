/**
 * Issue 18: seeded fuzzing of the relay's HTTP API. A real `edgerelay` process (plain HTTP, so
 * the cases cost no TLS), FUZZ_CASES (10,000) requests, eight in flight on keep-alive sockets:
 * the Kubernetes paths and verbs (core, apps, devices, subresources, discovery, OpenAPI) and
 * /edge/v1 join, tokens, ca and telemetry — valid objects with one mutation (wrong types, huge
 * strings, deep nesting, unknown fields, bad escapes, other nodes' names, far-future values),
 * corrupted bodies (truncated, invalid UTF-8, junk), every content type, odd Accept headers,
 * path escapes and query parameters, six identities (admin, read-only, a node's password, a
 * junk token, none, Basic) — and raw requests on their own sockets (spaces, controls, bad
 * versions in the request line). Asserted for every case:
 *
 *  - no crash: the process stays up; /healthz answers 200 after every batch; no error in its log;
 *  - a clear refusal: never a 5xx; every 4xx carries a Kubernetes Status with the same code
 *    (a raw request the HTTP parser refuses gets its 400/431); a write to a resource or to
 *    /edge/v1/tokens by anyone but the admin is refused (401/403; discovery and OpenAPI answer
 *    any verb, as kube-apiserver's do, and change nothing);
 *  - no state change: batches of refusal cases (every write there is a dry run, a write without
 *    the right, or a delete of nothing) leave the store revision as it was; the other batches
 *    write only in their own namespace, and the fixtures (a ConfigMap, a Secret, another node's
 *    Node and Pod) never change.
 */
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { test } from 'node:test';
import { corrupt, deep, describeCase, fuzzCases, fuzzSeed, mutate, rngFor, type Json, type Rng } from '../../helpers/fuzz.js';
import { tmpDir } from '../../helpers/tmp.js';
import { ADMIN, RelayProc, relayPorts } from './harness.js';

const BATCH = 250;
const IN_FLIGHT = 8;
const READONLY = 'fuzz-read-only-token';
const FREE_NS = 'fuzz-free';

type Who = 'admin' | 'read-only' | 'node' | 'junk' | 'none' | 'basic';
interface Case {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  who: Who;
  /** a raw request (bytes on a socket of its own) */
  raw?: Buffer;
  what: string;
  /** a write that must be refused (not the admin's) */
  mustRefuse: boolean;
}
interface World {
  nodePassword: string;
  nodes: string[];
}

const objects = (ns: string, name: string, node: string): Record<string, { path: string; body: Json }> => ({
  configmaps: { path: `/api/v1/namespaces/${ns}/configmaps`, body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, labels: { a: 'b' } }, data: { k: 'v' } } },
  secrets: { path: `/api/v1/namespaces/${ns}/secrets`, body: { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, type: 'Opaque', stringData: { p: 'w' } } },
  pods: { path: `/api/v1/namespaces/${ns}/pods`, body: { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns }, spec: { nodeName: node, containers: [{ name: 'c', image: 'busybox', ports: [{ containerPort: 80 }], env: [{ name: 'E', value: 'x' }], resources: { limits: { cpu: '100m', memory: '64Mi' } } }] } } },
  services: { path: `/api/v1/namespaces/${ns}/services`, body: { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { selector: { a: 'b' }, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }] } } },
  deployments: { path: `/apis/apps/v1/namespaces/${ns}/deployments`, body: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: ns }, spec: { replicas: 1, selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } } } },
  devices: { path: `/apis/devices.kubeedge.io/v1beta1/namespaces/${ns}/devices`, body: { apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'Device', metadata: { name, namespace: ns }, spec: { deviceModelRef: { name: 'm' }, nodeName: node, properties: [{ name: 't', desired: { value: '1' } }] } } },
  nodes: { path: '/api/v1/nodes', body: { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { a: 'b' } }, spec: { unschedulable: false } } },
});

const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/json-patch+json', 'application/apply-patch+yaml', 'application/yaml', 'application/vnd.kubernetes.protobuf', 'text/plain', 'application/x-www-form-urlencoded', 'junk/junk', '', 'application/json; charset=latin1', 'multipart/form-data; boundary=x'];
const ACCEPTS = ['application/json', 'application/json;as=Table;v=v1;g=meta.k8s.io', 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io', 'application/vnd.kubernetes.protobuf', 'application/yaml', '*/*', 'text/html', 'application/json;as=Junk;v=v9;g=x', ''];
const SUBS = ['', '', '', '/status', '/log', '/exec', '/binding', '/eviction', '/scale', '/attach', '/portforward', '/proxy', '/junk'];
const QUERIES = ['limit=abc', 'limit=-1', 'limit=99999999999999999999', 'continue=%zz', 'continue=eyJ4IjoxfQ', 'labelSelector=!!!', 'labelSelector=a+in+(b', 'fieldSelector=spec.nodeName%3D%3Dx,,', 'fieldSelector=metadata.junk%3Dx', 'resourceVersion=abc', 'resourceVersion=99999999', 'resourceVersionMatch=Exact', 'watch=1&timeoutSeconds=0', 'watch=junk', 'fieldValidation=Strict', 'fieldValidation=Junk', 'fieldManager=%00', 'force=maybe', 'pretty=1', 'gracePeriodSeconds=-5', 'propagationPolicy=Junk', 'container=%zz', 'tailLines=-1', 'sinceSeconds=x', 'follow=1', 'node=x&limit=-1', 'node=', 'limit=0', '%zz=1', 'a=%', `x=${'y'.repeat(20_000)}`];
const ESCAPES = ['%zz', '%', '%2F', '%2e%2e', '..', '%00', '%C0%AF', '%ED%A0%80', 'UPPER', 'a..b', '-x', `${'n'.repeat(254)}`, 'é', '%E2%80%AE', '*', '%25', 'a%20b', '~', `${'%41'.repeat(3000)}`];

function pathFor(r: Rng, w: World, ns: string, refusal: boolean): { path: string; base: { path: string; body: Json } | undefined; resource: string; name: string } {
  // outside refusal batches only names of the batch's own (another node's Node stays untouched)
  const name = r.chance(0.7) ? `f${r.int(10)}` : r.pick(refusal ? [...ESCAPES, ...w.nodes] : ESCAPES);
  const resource = r.pick(Object.keys(objects(ns, name, '')));
  const o = objects(ns, name, r.pick(w.nodes))[resource]!;
  const shape = r.int(8);
  if (shape === 0) return { path: r.pick(['/api', '/apis', '/api/v1', '/apis/apps/v1', '/version', '/openapi/v2', '/openapi/v3', '/openapi/v3/api/v1', '/healthz', '/readyz/x', '/', '/metrics', ...(refusal ? [`/api/v1/namespaces/${ns}`] : []), '/api/v1/namespaces', '/apis/devices.kubeedge.io/v1beta1']), base: undefined, resource, name };
  if (shape === 1) return { path: r.pick(['/edge/v1/join', '/edge/v1/tokens', '/edge/v1/ca', '/edge/v1/telemetry', '/edge/v1/junk', '/edge/v2/join', '/edge/v1/join/x']), base: undefined, resource: 'edge', name };
  if (shape <= 3) return { path: o.path, base: o, resource, name };
  return { path: `${o.path}/${name}${r.pick(SUBS)}`, base: o, resource, name };
}

function identity(r: Rng, w: World): { who: Who; header: Record<string, string> } {
  const who = r.pick<Who>(['admin', 'admin', 'admin', 'admin', 'admin', 'admin', 'read-only', 'node', 'junk', 'none', 'basic']);
  const token = { admin: ADMIN, 'read-only': READONLY, node: w.nodePassword, junk: r.pick(['x', `${ADMIN}x`, ADMIN.slice(1), '', 'a'.repeat(5000)]) }[who as string];
  if (who === 'none') return { who, header: {} };
  if (who === 'basic') return { who, header: { authorization: `Basic ${Buffer.from(`admin:${ADMIN}`).toString('base64')}` } };
  return { who, header: { authorization: `Bearer ${token}` } };
}

function bodyFor(r: Rng, base: Json | undefined, w: World, name: string): { body: Buffer; what: string } {
  const v: Json = base ?? r.pick<Json>([{ token: 'abcdef.0123456789abcdef', node: name }, { ttlSeconds: 60 }, {}]);
  const k = r.int(10);
  if (k <= 5) {
    const m = mutate(v, r, [...w.nodes, 'default', 'kube-system']);
    return { body: Buffer.from(JSON.stringify(m.value)), what: m.what };
  }
  if (k <= 7) {
    const c = corrupt(JSON.stringify(v), r);
    return { body: c.bytes, what: c.what };
  }
  if (k === 8) return { body: Buffer.from(r.pick(['[{"op":"replace","path":"/metadata/labels/a","value":"c"}]', '[{"op":"junk"}]', `[${'{"op":"add","path":"/x","value":1},'.repeat(200)}1]`, 'a: [', 'kind: ConfigMap\nmetadata: {name: y}', deep(r.pick([50, 101, 3000]), r)])), what: 'patch / yaml / deep' };
  return { body: Buffer.alloc(0), what: 'empty body' };
}

function rawCase(r: Rng): Buffer {
  const line = r.pick([`GET /api/v1/namespaces/a b HTTP/1.1`, `GET /api/v1/\u0001 HTTP/1.1`, `GET /api HTTP/9.9`, `JUNK /api HTTP/1.1`, `GET /api/v1/namespaces/%zz/pods HTTP/1.1`, `GET ${'/a'.repeat(20_000)} HTTP/1.1`, 'GET', '\u0000\u0000', `POST /edge/v1/join HTTP/1.1\r\nContent-Length: -1`, `GET /api HTTP/1.1\r\nX: ${'y'.repeat(20_000)}`, `GET /api HTTP/1.1\r\nHost: a\r\nHost: b\r\nTransfer-Encoding: chunked\r\nContent-Length: 3`]);
  return Buffer.from(`${line}\r\nHost: relay\r\nAuthorization: Bearer ${ADMIN}\r\nConnection: close\r\n\r\n`);
}

/** Case i: a refusal batch's writes are dry runs, writes without the right, or deletes of nothing. */
function makeCase(seed: number, i: number, w: World, refusal: boolean): Case {
  const r = rngFor(seed, i);
  if (r.chance(0.03)) return { method: 'RAW', path: '', headers: {}, who: 'admin', raw: rawCase(r), what: 'raw request', mustRefuse: false };
  const ns = refusal ? r.pick(['default', FREE_NS, 'kube-system', 'nope', '%zz']) : FREE_NS;
  const p = pathFor(r, w, ns, refusal);
  const { who, header } = identity(r, w);
  let method = r.pick(['GET', 'GET', 'POST', 'POST', 'PUT', 'PATCH', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);
  // outside refusal batches no delete of a whole collection (Nodes are cluster-wide: another node's would go)
  if (!refusal && method === 'DELETE' && p.path === p.base?.path) method = 'GET';
  const headers: Record<string, string> = { ...header };
  const write = method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS';
  let what = `${method} ${p.resource}`;
  let body: Buffer | undefined;
  if (write || r.chance(0.1)) {
    const b = bodyFor(r, p.base?.body, w, p.name);
    body = b.body;
    what += `, body: ${b.what}`;
    const ct = method === 'PATCH' && r.chance(0.6) ? r.pick(CONTENT_TYPES.slice(2, 6)) : r.pick(CONTENT_TYPES);
    if (ct) headers['content-type'] = ct;
  }
  const accept = r.pick(ACCEPTS);
  if (accept) headers.accept = accept;
  if (r.chance(0.02)) headers['x-junk'] = 'j'.repeat(r.pick([100, 20_000]));
  const query: string[] = [];
  if (r.chance(0.3)) query.push(r.pick(QUERIES));
  const admin = who === 'admin';
  if (refusal && write && admin) query.push(method === 'DELETE' && r.chance(0.3) ? 'dryRun=Junk' : 'dryRun=All');
  let path = p.path;
  // a delete of nothing: no dry run needed, nothing to remove (admin, refusal batch)
  if (refusal && write && admin && method === 'DELETE' && r.chance(0.3)) {
    path = `${p.path}/no-such-${r.str(6)}`;
    query.length = 0;
  }
  return { method, path: query.length ? `${path}?${query.join('&')}` : path, headers, body, who, what, mustRefuse: write && !admin && (p.base !== undefined || p.path === '/edge/v1/tokens') };
}

function send(agent: Agent, api: string, k: Case): Promise<{ status: number; body: string }> {
  if (k.raw) return rawSend(api, k.raw);
  return new Promise((resolve, reject) => {
    const req = request(api + k.path, { method: k.method, headers: { ...k.headers, ...(k.body ? { 'content-length': String(k.body.length) } : {}) }, agent }, (res) => {
      const status = res.statusCode ?? 0;
      if (status < 400) {
        res.destroy(); // a watch, a log: the status is the answer
        return resolve({ status, body: '' });
      }
      let text = '';
      res.on('data', (d: Buffer) => void (text += d.toString()));
      res.on('end', () => resolve({ status, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(k.body);
  });
}

function rawSend(api: string, bytes: Buffer): Promise<{ status: number; body: string }> {
  const u = new URL(api);
  return new Promise((resolve, reject) => {
    const s = connect(Number(u.port), u.hostname, () => s.write(bytes));
    let text = '';
    s.on('data', (d: Buffer) => void (text += d.toString('latin1')));
    s.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' && text ? resolve(parseRaw(text)) : reject(e)));
    s.on('close', () => resolve(parseRaw(text)));
  });
}

function parseRaw(text: string): { status: number; body: string } {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
  return { status: m ? Number(m[1]) : 0, body: text.slice(text.indexOf('\r\n\r\n') + 4) };
}

/** What the answer must be (undefined when it is right). */
function judge(k: Case, res: { status: number; body: string }): string | undefined {
  if (k.raw) return res.status >= 400 && res.status < 500 ? undefined : `raw request answered ${res.status} (want a 4xx)`;
  // refused by node's HTTP parser before any route (a header block over 16 KiB): 431 with no body,
  // or the socket closed under a body still being written
  const hugeHead = k.path.length > 16_000 || Object.values(k.headers).some((h) => h.length > 4000);
  if (hugeHead && ((res.status === 431 && res.body === '') || (res.status === 0 && /ECONNRESET|EPIPE/.test(res.body)))) return undefined;
  // a pod's log comes from its node: 503 while that node is not connected (the fixture's never is)
  if (res.status === 503 && /\/pods\/[^/]+\/log(\?|$)/.test(k.path) && (k.method === 'HEAD' || (/"reason":"ServiceUnavailable"/.test(res.body) && /is not connected/.test(res.body)))) return undefined;
  if (res.status >= 500 || res.status < 100) return `answered ${res.status}: ${res.body.slice(0, 300)}`;
  if (k.mustRefuse && res.status < 400) return `a write by ${k.who} was answered ${res.status}`;
  if (res.status >= 400 && k.method !== 'HEAD') {
    let s: { kind?: string; code?: number; status?: string; error?: { code?: string; message?: string } } | undefined;
    try {
      s = JSON.parse(res.body) as typeof s;
    } catch {
      return `${res.status} without a Status body: ${res.body.slice(0, 200)}`;
    }
    // the private telemetry route answers its contract's ApiErrorBody (src/contract/api.ts), the rest a Status
    const bootstrap = /^\/edge\/v1\/(join|tokens|ca)(\?|$)/.test(k.path);
    if (k.path.startsWith('/edge/v1/') && !bootstrap && s?.error) return s.error.code && s.error.message ? undefined : `${res.status} with an empty error body: ${res.body.slice(0, 200)}`;
    if (s?.kind !== 'Status' || s.code !== res.status || s.status !== 'Failure') return `${res.status} with a body that is not its Status: ${res.body.slice(0, 200)}`;
  }
  return undefined;
}

test('fuzz: the relay HTTP API (Kubernetes and /edge/v1) refuses clearly, never fails, changes nothing it must not', async (t) => {
  const seed = fuzzSeed('relay-http');
  const total = fuzzCases();
  const relay = new RelayProc({ dir: tmpDir(t, 'edgecore-fuzz-http-'), ports: await relayPorts(), plaintext: true, nodes: { notReadyAfterSeconds: 3600 }, extra: { api: { readOnlyToken: READONLY } } });
  t.after(() => relay.stop('SIGKILL'));
  await relay.start();
  const tag = `${process.pid}-${seed % 10_000}`;
  const mine = await relay.join(`fz-${tag}`);
  const other = `other-${tag}`;
  await relay.join(other);
  const w: World = { nodePassword: mine.password, nodes: [mine.username, other] };
  await relay.http('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: FREE_NS } });
  const fixtures = [
    ['/api/v1/namespaces/default/configmaps', objects('default', 'f1', other).configmaps!.body],
    ['/api/v1/namespaces/default/secrets', objects('default', 'f2', other).secrets!.body],
    ['/api/v1/namespaces/default/pods', objects('default', 'f3', other).pods!.body],
  ] as const;
  for (const [path, body] of fixtures) await relay.http('POST', path, body);
  const snapshot = async (): Promise<string> =>
    JSON.stringify(await Promise.all(['/api/v1/namespaces/default/configmaps/f1', '/api/v1/namespaces/default/secrets/f2', '/api/v1/namespaces/default/pods/f3', `/api/v1/nodes/${other}`, '/api/v1/namespaces/default'].map((p) => relay.http('GET', p))));
  const revision = async (): Promise<string> => (await relay.http<{ metadata: { resourceVersion: string } }>('GET', '/api/v1/namespaces?limit=1')).metadata.resourceVersion;
  const before = await snapshot();
  const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  t.after(() => agent.destroy());
  const counts: Record<string, number> = {};
  const started = process.hrtime.bigint();

  for (let from = 0; from < total; from += BATCH) {
    const refusal = (from / BATCH) % 3 !== 2;
    const cases = Array.from({ length: Math.min(BATCH, total - from) }, (_, j) => makeCase(seed, from + j, w, refusal));
    const rev = refusal ? await revision() : '';
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < cases.length) {
          const j = next++;
          const k = cases[j]!;
          const res = await send(agent, relay.api, k).catch((e: Error) => ({ status: 0, body: `transport error: ${e.message}` }));
          counts[res.status] = (counts[res.status] ?? 0) + 1;
          const bad = judge(k, res);
          if (bad) assert.fail(`${bad}\n${describeCase('relay-http', seed, from + j, k)}`);
        }
      }),
    );
    if (relay.proc!.child.exitCode !== null) assert.fail(`the relay exited in cases ${from}..; FUZZ_SEED=${seed}`);
    assert.equal((await fetch(`${relay.api}/healthz`)).status, 200, `healthz after cases ${from}..; FUZZ_SEED=${seed}`);
    if (refusal) assert.equal(await revision(), rev, `a refusal batch changed the store (cases ${from}..${from + cases.length - 1}); FUZZ_SEED=${seed}`);
    else assert.equal(await snapshot(), before, `the fixtures changed (cases ${from}..${from + cases.length - 1}); FUZZ_SEED=${seed}`);
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  assert.equal(await snapshot(), before);
  const errors = relay.proc!.lines.filter((l) => l.includes('"level":"error"') || l.includes('"level":"fatal"'));
  assert.deepEqual(errors.slice(0, 5), [], `the relay logged errors; FUZZ_SEED=${seed}`);
  console.log(`# fuzz relay-http: ${total} cases in ${ms.toFixed(0)} ms; answers ${JSON.stringify(counts)}; seed ${seed}`);
});
