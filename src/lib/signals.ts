/**
 * Stop signals for the long-running programs (edgecore run, edgerelay run). The handlers are
 * installed before anything starts, so a SIGTERM that arrives while the program is starting —
 * systemd may send one the moment READY=1 goes out, or before — is never handled by Node's
 * default action (an exit with no graceful stop). The first SIGTERM/SIGINT resolves `first`; the
 * program stops gracefully once its start has finished. A second one calls `onSecond` (the
 * caller's "exit now").
 */
export interface StopSignals {
  /** the first SIGTERM or SIGINT, whenever it came (before or after the program was ready) */
  readonly first: Promise<NodeJS.Signals>;
  /** remove the handlers */
  dispose(): void;
}

export function trapStopSignals(onSecond: (sig: NodeJS.Signals) => void, proc: NodeJS.EventEmitter = process): StopSignals {
  let seen = false;
  let resolveFirst!: (sig: NodeJS.Signals) => void;
  const first = new Promise<NodeJS.Signals>((r) => (resolveFirst = r));
  const handler = (sig: NodeJS.Signals): void => {
    if (seen) return onSecond(sig);
    seen = true;
    resolveFirst(sig);
  };
  proc.on('SIGTERM', handler);
  proc.on('SIGINT', handler);
  return {
    first,
    dispose: () => {
      proc.off('SIGTERM', handler);
      proc.off('SIGINT', handler);
    },
  };
}
