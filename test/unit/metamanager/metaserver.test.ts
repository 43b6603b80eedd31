/**
 * The MetaServer against a real node store over real HTTPS (its own CA) and its unix socket:
 * discovery, get/list with selectors and Tables, watch from a revision (and 410 past the
 * window), tokens and what a pod may read, read-only answers.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request } from 'node:https';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { createLogger } from '../../../src/core/logger.js';
import { startMetaServer } from '../../../src/modules/metamanager/server/index.js';
import { openNodeStore } from '../../../src/store/store.js';
import { tmpDir } from '../../helpers/tmp.js';

interface Answer {
  code: number;
  type: string;
  body: string;
}

async function setup(t: TestContext, window = 1000) {
  const dir = tmpDir(t);
  const store = openNodeStore(join(dir, 'n.db'), { deletionWindow: window });
  const server = await startMetaServer({
    resources: store.resources,
    nodeName: 'node-a',
    dir: join(dir, 'ms'),
    host: '127.0.0.1',
    port: 0,
    podNetworkAddress: '',
    socket: join(dir, 'ms.sock'),
    limits: { maxWatchers: 3, maxBacklogBytes: 1 << 20, bookmarkSeconds: 60, maxTimeoutSeconds: 60 },
    version: '0.1.0',
    now: () => new Date(),
    log: createLogger({ level: 'silent', format: 'json' }),
  });
  t.after(async () => {
    await server.close();
    store.close();
  });
  const ca = readFileSync(join(dir, 'ms', 'ca.crt'));
  const admin = readFileSync(join(dir, 'ms', 'admin.token'), 'utf8');
  const get = (path: string, opts: { token?: string; accept?: string; method?: string } = {}): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = { accept: opts.accept ?? 'application/json' };
      const token = opts.token ?? admin;
      if (token) headers.authorization = `Bearer ${token}`;
      const req = request({ host: '127.0.0.1', port: server.port, path, method: opts.method ?? 'GET', ca, headers, servername: 'localhost' }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ code: res.statusCode!, type: String(res.headers['content-type']), body }));
      });
      req.on('error', reject);
      req.end();
    });
  const pod = (ns: string, name: string, labels: Record<string, string> = {}) =>
    store.resources.put({ kind: 'Pod', namespace: ns, name }, { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels }, spec: { containers: [{ name: 'c', image: 'i' }] } });
  return { store, server, get, pod, dir, admin };
}

test('discovery, get, list with selectors, Table; a pod reads its own namespace only; read-only', async (t) => {
  const { get, pod, server, store } = await setup(t);
  const a = pod('default', 'a', { app: 'web' }).resource;
  pod('default', 'b', { app: 'db' });
  pod('other', 'c', { app: 'web' });
  store.resources.setStatus({ kind: 'Pod', namespace: 'default', name: 'a' }, { phase: 'Running', podIP: '10.0.0.5', containerStatuses: [{ name: 'c', ready: true, restartCount: 2 }] });

  const agg = await get('/apis', { accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' });
  assert.equal(agg.type, 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
  assert.deepEqual(
    JSON.parse(agg.body).items[0].versions[0].resources.map((r: { resource: string }) => r.resource),
    ['devices', 'devicemodels'],
  );
  const core = JSON.parse((await get('/api/v1')).body);
  assert.ok(core.resources.some((r: { name: string; verbs: string[] }) => r.name === 'pods' && r.verbs.join() === 'get,list,watch'));

  const list = JSON.parse((await get('/api/v1/pods?labelSelector=app%3Dweb')).body);
  assert.equal(list.kind, 'PodList');
  assert.deepEqual(list.items.map((p: { metadata: { name: string } }) => p.metadata.name), ['a', 'c']);
  assert.equal(list.metadata.resourceVersion, String(store.resources.revision()));
  const one = JSON.parse((await get('/api/v1/namespaces/default/pods/a')).body);
  assert.equal(one.metadata.uid, a.uid);
  assert.equal(one.metadata.resourceVersion, '4', 'the revision of its last write (the status)');
  assert.equal(one.status.phase, 'Running');
  const table = JSON.parse((await get('/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3Da', { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' })).body);
  assert.deepEqual(table.rows[0].cells.slice(0, 4), ['a', '1/1', 'Running', '2']);
  assert.equal(table.rows[0].object.kind, 'PartialObjectMetadata');
  assert.equal((await get('/api/v1/namespaces/default/pods/zzz')).code, 404);
  assert.equal(JSON.parse((await get('/api/v1/pods?fieldSelector=spec.bogus%3Dx')).body).code, 400);
  assert.equal(JSON.parse((await get('/api/v1/pods?labelSelector=a%20in%20()')).body).reason, 'BadRequest');

  // paging
  const p1 = JSON.parse((await get('/api/v1/pods?limit=2')).body);
  assert.equal(p1.items.length, 2);
  const p2 = JSON.parse((await get(`/api/v1/pods?limit=2&continue=${p1.metadata.continue}`)).body);
  assert.deepEqual(p2.items.map((p: { metadata: { name: string } }) => p.metadata.name), ['c']);

  // tokens
  assert.equal((await get('/api/v1/pods', { token: '' })).code, 401);
  assert.equal((await get('/api/v1/pods', { token: 'x.y.z' })).code, 401);
  const tok = server.issue({ namespace: 'default', pod: 'a', uid: a.uid, serviceAccount: 'default' }).token;
  assert.equal((await get('/api/v1/namespaces/default/pods', { token: tok })).code, 200);
  const denied = await get('/api/v1/namespaces/other/pods', { token: tok });
  assert.equal(denied.code, 403);
  assert.match(JSON.parse(denied.body).message, /system:serviceaccount:default:default/);
  assert.equal((await get('/api/v1/pods', { token: tok })).code, 403, 'all namespaces is not its own');
  assert.equal((await get('/api/v1/nodes', { token: tok })).code, 200, 'the Node is readable');
  const stale = server.issue({ namespace: 'default', pod: 'a', uid: 'not-the-uid', serviceAccount: 'default' }).token;
  assert.equal((await get('/api/v1/namespaces/default/pods', { token: stale })).code, 401, 'a token dies with its pod');
  const post = await get('/api/v1/namespaces/default/pods', { method: 'POST' });
  assert.equal(post.code, 405);
  assert.equal(JSON.parse(post.body).reason, 'MethodNotAllowed');
});

function watch(t: TestContext, port: number, path: string, admin: string, ca: Buffer) {
  const events: { type: string; object: { metadata: { name?: string; resourceVersion?: string }; code?: number } }[] = [];
  let buf = '';
  const req = request({ host: '127.0.0.1', port, path, ca, servername: 'localhost', headers: { authorization: `Bearer ${admin}` } }, (res) => {
    res.setEncoding('utf8');
    res.on('data', (c: string) => {
      buf += c;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        events.push(JSON.parse(buf.slice(0, i)));
        buf = buf.slice(i + 1);
      }
    });
  });
  req.on('error', () => undefined);
  req.end();
  t.after(() => req.destroy());
  return events;
}

const until = async (what: string, f: () => boolean): Promise<void> => {
  for (let i = 0; i < 400 && !f(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(f(), what);
};

test('watch: from now, from a revision (replayed from SQLite), selectors turn changes into ADDED/DELETED, 410 past the window, 429 past maxWatchers', async (t) => {
  const { server, pod, store, admin, dir } = await setup(t, 2);
  const ca = readFileSync(join(dir, 'ms', 'ca.crt'));
  pod('default', 'a', { app: 'web' });
  const rv = store.resources.revision();
  pod('default', 'b', { app: 'web' });
  const live = watch(t, server.port, '/api/v1/namespaces/default/pods?watch=true&labelSelector=app%3Dweb', admin, ca);
  const resumed = watch(t, server.port, `/api/v1/namespaces/default/pods?watch=true&resourceVersion=${rv}`, admin, ca);
  await until('initial events', () => live.length === 2 && resumed.length === 1);
  assert.deepEqual(live.map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED a', 'ADDED b']);
  assert.deepEqual(resumed.map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED b'], 'only what came after the revision');
  pod('default', 'a', { app: 'db' }); // leaves the selector
  store.resources.delete({ kind: 'Pod', namespace: 'default', name: 'b' });
  await until('changes', () => live.length === 4 && resumed.length === 3);
  assert.deepEqual(live.slice(2).map((e) => `${e.type} ${e.object.metadata.name}`), ['DELETED a', 'DELETED b']);
  assert.deepEqual(resumed.slice(1).map((e) => `${e.type} ${e.object.metadata.name}`), ['MODIFIED a', 'DELETED b']);
  assert.equal(resumed[2]!.object.metadata.resourceVersion, String(store.resources.revision()));
  // the tombstone window (2) moves past rv: ERROR 410 Expired, and the stream ends
  for (const n of ['x', 'y', 'z']) {
    pod('default', n);
    store.resources.delete({ kind: 'Pod', namespace: 'default', name: n });
  }
  const gone = watch(t, server.port, `/api/v1/namespaces/default/pods?watch=true&resourceVersion=${rv}`, admin, ca);
  await until('410', () => gone.length === 1);
  assert.equal(gone[0]!.type, 'ERROR');
  assert.equal(gone[0]!.object.code, 410);
  await until('the expired watch closed', () => server.watches.size === 2);
  // 429 once maxWatchers (3) are open
  watch(t, server.port, '/api/v1/pods?watch=true', admin, ca);
  await until('third watcher', () => server.watches.size === 3);
  const code = await new Promise<number>((resolve) => {
    const req = request({ host: '127.0.0.1', port: server.port, path: '/api/v1/pods?watch=1', ca, servername: 'localhost', headers: { authorization: `Bearer ${admin}` } }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.end();
  });
  assert.equal(code, 429);
});

test('the unix socket serves the host without a token', async (t) => {
  const { dir, pod } = await setup(t);
  pod('default', 'a');
  const body = await new Promise<string>((resolve, reject) => {
    const req = httpRequest({ socketPath: join(dir, 'ms.sock'), path: '/api/v1/namespaces/default/pods/a' }, (res) => {
      let b = '';
      res.on('data', (c) => (b += c));
      res.on('end', () => resolve(b));
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(JSON.parse(body).metadata.name, 'a');
});
