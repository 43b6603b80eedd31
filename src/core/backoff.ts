/** Capped exponential backoff, optionally with full jitter. Pure: the caller owns the timers. */
export interface BackoffPolicy {
  /** first delay, ms */
  initialMs: number;
  /** ceiling, ms */
  maxMs: number;
  /** growth per attempt (2 = doubling) */
  factor: number;
  /** 0 = none; 1 = full jitter (uniform in [d*(1-j), d]) */
  jitter: number;
}

/** Delay before retry number `attempt` (0-based). `rand` is injectable for tests. */
export function backoffDelay(policy: BackoffPolicy, attempt: number, rand: () => number = Math.random): number {
  const raw = policy.initialMs * Math.pow(policy.factor, Math.max(0, attempt));
  const capped = Math.min(policy.maxMs, raw);
  if (policy.jitter <= 0) return Math.round(capped);
  const low = capped * (1 - Math.min(1, policy.jitter));
  return Math.round(low + (capped - low) * rand());
}

/** Sleep that ends early (rejecting) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal?.reason ?? new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
