/**
 * **A fake kubelet over HTTP**, for tests where what a container does is not the point: for every
 * pod bound to a node in `up` it writes Running + Ready (or, for a Job's pods, Succeeded or
 * Failed) through the pods' /status, and confirms deletions (grace 0) as a kubelet does. The
 * nodes themselves are real edgecore processes with edged off (their Node objects and readiness
 * come from the node link). It speaks the relay's Kubernetes API with the admin token.
 */
import type { KubeObject } from '../../../../src/contract/kube/types.js';
import { tlsFetch } from '../../../../src/lib/tls-fetch.js';

export type Outcome = 'run' | 'succeed' | 'fail';

export class FakeHttpNodes {
  readonly up = new Set<string>();
  outcome: (pod: KubeObject) => Outcome = (p) => (p.metadata.labels?.['batch.kubernetes.io/job-name'] ? 'succeed' : 'run');
  private timer?: NodeJS.Timeout;
  private busy = false;

  private readonly fetch: typeof fetch;

  /** `ca`: the relay's CA (its API is HTTPS) */
  constructor(
    private readonly url: string,
    private readonly token: string,
    ca: string,
  ) {
    this.fetch = tlsFetch({ ca });
  }

  async call<T = KubeObject>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.fetch(this.url + path, { method, headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    if (!res.ok) throw Object.assign(new Error(`${method} ${path}: ${res.status} ${text}`), { code: res.status });
    return JSON.parse(text) as T;
  }

  start(everyMs = 100): void {
    this.timer = setInterval(() => void this.tick(), everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await this.sync();
    } catch {
      // the next tick tries again (a 409 from a race with a controller is normal)
    } finally {
      this.busy = false;
    }
  }

  async sync(): Promise<void> {
    const pods = (await this.call<{ items: KubeObject[] }>('GET', '/api/v1/pods')).items;
    for (const p of pods) {
      const spec = p.spec as { nodeName?: string; containers: { name: string; image: string }[] };
      if (!spec.nodeName || !this.up.has(spec.nodeName)) continue;
      const path = `/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}`;
      if (p.metadata.deletionTimestamp) {
        await this.call('DELETE', path, { gracePeriodSeconds: 0, preconditions: { uid: p.metadata.uid } }).catch(() => undefined);
        continue;
      }
      const status = p.status as { phase?: string; conditions?: { type: string }[] };
      if (status.phase !== 'Pending') continue;
      const out = this.outcome(p);
      const t = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
      const running = out === 'run';
      const c = spec.containers[0]!;
      const next = {
        ...status,
        phase: running ? 'Running' : out === 'succeed' ? 'Succeeded' : 'Failed',
        conditions: [...(status.conditions ?? []).filter((x) => x.type === 'PodScheduled'), { type: 'Ready', status: running ? 'True' : 'False', lastTransitionTime: t }],
        containerStatuses: [
          { name: c.name, image: c.image, imageID: '', ready: running, restartCount: 0, state: running ? { running: { startedAt: t } } : { terminated: { exitCode: out === 'succeed' ? 0 : 1, reason: out === 'succeed' ? 'Completed' : 'Error', finishedAt: t } } },
        ],
      };
      await this.call('PUT', `${path}/status`, { ...p, status: next }).catch(() => undefined);
    }
  }
}
