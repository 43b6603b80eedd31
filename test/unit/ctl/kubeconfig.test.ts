/** edgectl reading kubectl's kubeconfig (as the kubectl plugin `kubectl edge`), and where it stands among edgectl's own settings. */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { kubeconfigFiles, readKubeconfig } from '../../../src/ctl/kubeconfig.js';
import { resolveSettings } from '../../../src/ctl/settings.js';
import { tmpDir } from '../../helpers/tmp.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

function kubeconfig(file: string, o: { current?: string; clusters?: Record<string, object>; users?: Record<string, object>; contexts?: Record<string, object> }): string {
  const list = (key: string, m: Record<string, object> = {}) => Object.entries(m).map(([name, v]) => ({ name, [key]: v }));
  writeFileSync(file, stringify({ apiVersion: 'v1', kind: 'Config', ...(o.current ? { 'current-context': o.current } : {}), clusters: list('cluster', o.clusters), users: list('user', o.users), contexts: list('context', o.contexts), preferences: {} }));
  return file;
}

test('a kubeconfig as kubectl reads it: the current context (or --context), CA as data or a file beside it, token or tokenFile, namespace', (t) => {
  const dir = tmpDir(t);
  mkdirSync(join(dir, 'pki'));
  writeFileSync(join(dir, 'pki', 'ca.crt'), PEM);
  writeFileSync(join(dir, 'tok'), 'file-token\n');
  const f = kubeconfig(join(dir, 'config'), {
    current: 'a',
    clusters: { ca: { server: 'https://a:6443', 'certificate-authority-data': Buffer.from(PEM).toString('base64') }, cb: { server: 'https://b:6443', 'certificate-authority': 'pki/ca.crt' } },
    users: { ua: { token: 'tok-a' }, ub: { tokenFile: 'tok' } },
    contexts: { a: { cluster: 'ca', user: 'ua', namespace: 'plant' }, b: { cluster: 'cb', user: 'ub' }, broken: { cluster: 'nope', user: 'ua' }, nouser: { cluster: 'ca', user: 'ghost' } },
  });
  assert.deepEqual(readKubeconfig([f]), { source: f, server: 'https://a:6443', token: 'tok-a', caPem: PEM, namespace: 'plant' });
  assert.deepEqual(readKubeconfig([f], 'b'), { source: f, server: 'https://b:6443', token: 'file-token', caPem: PEM });
  assert.throws(() => readKubeconfig([f], 'zzz'), (e: Error) => e.message === `kubeconfig ${f}: context "zzz" not found`);
  assert.throws(() => readKubeconfig([f], 'broken'), /cluster "nope" \(of context "broken"\) not found/);
  assert.throws(() => readKubeconfig([f], 'nouser'), /user "ghost" \(of context "nouser"\) not found/);
  assert.equal(readKubeconfig([]), undefined);
  writeFileSync(join(dir, 'bad'), 'clusters: [\n');
  assert.throws(() => readKubeconfig([join(dir, 'bad')]), /bad/);
});

test('$KUBECONFIG files merge as kubectl merges them: the first to name something wins; missing files are skipped', (t) => {
  const dir = tmpDir(t);
  const one = kubeconfig(join(dir, 'one'), { current: 'x', users: { u: { token: 'first' } } });
  const two = kubeconfig(join(dir, 'two'), { current: 'y', clusters: { c: { server: 'https://c' } }, users: { u: { token: 'second' } }, contexts: { x: { cluster: 'c', user: 'u' }, y: { cluster: 'c', user: 'u' } } });
  const env = { KUBECONFIG: [one, join(dir, 'missing'), two].join(':') };
  assert.deepEqual(kubeconfigFiles(undefined, env, dir), { files: [one, two], explicit: true });
  assert.deepEqual(readKubeconfig(kubeconfigFiles(undefined, env, dir).files), { source: `${one}:${two}`, server: 'https://c', token: 'first' });
  assert.deepEqual(kubeconfigFiles('/flag', env, dir), { files: ['/flag'], explicit: true });
  assert.deepEqual(kubeconfigFiles(undefined, {}, dir), { files: [], explicit: false }, 'no ~/.kube/config');
});

test('where a kubeconfig stands: flags, --kubeconfig, EDGECTL_*, edgectl --config, $KUBECONFIG, the default edgectl file, ~/.kube/config', (t) => {
  const home = tmpDir(t);
  mkdirSync(join(home, '.kube'));
  const homeKube = kubeconfig(join(home, '.kube', 'config'), { current: 'h', clusters: { c: { server: 'https://home' } }, users: { u: { token: 'home' } }, contexts: { h: { cluster: 'c', user: 'u', namespace: 'hns' } } });
  const envKube = kubeconfig(join(home, 'env.kubeconfig'), { current: 'e', clusters: { c: { server: 'https://envkube', 'certificate-authority-data': Buffer.from(PEM).toString('base64') } }, users: { u: { token: 'envkube' } }, contexts: { e: { cluster: 'c', user: 'u', namespace: 'ens' } } });
  const flagKube = kubeconfig(join(home, 'flag.kubeconfig'), { current: 'f', clusters: { c: { server: 'https://flagkube' } }, users: { u: { token: 'flagkube' } }, contexts: { f: { cluster: 'c', user: 'u' } } });
  const base = { home, cwd: home };
  assert.deepEqual(resolveSettings({ ...base, env: {} }), { server: 'https://home', token: 'home', caFile: '', namespace: 'hns', source: homeKube }, '~/.kube/config when nothing else');
  mkdirSync(join(home, '.edgectl'));
  writeFileSync(join(home, '.edgectl', 'config.yaml'), 'server: https://edgectl-default\ntoken: d\n');
  assert.equal(resolveSettings({ ...base, env: {} }).server, 'https://edgectl-default', "edgectl's own default file before ~/.kube/config");
  assert.equal(resolveSettings({ ...base, env: {} }).namespace, undefined, "the kubeconfig's namespace only with its server");
  const viaEnv = resolveSettings({ ...base, env: { KUBECONFIG: envKube } });
  assert.deepEqual([viaEnv.server, viaEnv.token, viaEnv.caPem, viaEnv.namespace], ['https://envkube', 'envkube', PEM, 'ens'], '$KUBECONFIG before the default edgectl file');
  writeFileSync(join(home, 'ctl.yaml'), 'server: https://edgectl-explicit\ntoken: x\n');
  assert.equal(resolveSettings({ ...base, configFile: join(home, 'ctl.yaml'), env: { KUBECONFIG: envKube } }).server, 'https://edgectl-explicit', '--config before $KUBECONFIG');
  assert.equal(resolveSettings({ ...base, env: { KUBECONFIG: envKube, EDGECTL_CONFIG: join(home, 'absent.yaml') } }).server, 'https://envkube', 'EDGECTL_CONFIG naming no file is no error (nor is the default file then read)');
  assert.equal(resolveSettings({ ...base, env: { KUBECONFIG: envKube, EDGECTL_SERVER: 'https://env' } }).server, 'https://env', 'EDGECTL_SERVER before $KUBECONFIG');
  const flag = resolveSettings({ ...base, kubeconfig: flagKube, env: { KUBECONFIG: envKube, EDGECTL_SERVER: 'https://env' } });
  assert.deepEqual([flag.server, flag.token], ['https://flagkube', 'flagkube'], '--kubeconfig before EDGECTL_*');
  assert.equal(resolveSettings({ ...base, kubeconfig: flagKube, server: 'https://flag', env: {} }).server, 'https://flag', '--server before everything');
  assert.throws(() => resolveSettings({ ...base, kubeconfig: join(home, 'none'), env: {} }), /config file \S+none not found/);
  assert.throws(() => resolveSettings({ ...base, kubeconfig: flagKube, context: 'zzz', env: {} }), /context "zzz" not found/);
});
