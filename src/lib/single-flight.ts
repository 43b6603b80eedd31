/**
 * One attempt at a time for an idempotent async job (opening a port or a bus): callers that come
 * while it runs share its promise; the next call after it settled starts a new one.
 */
export class SingleFlight {
  private running: Promise<void> | undefined;

  run(job: () => Promise<void>): Promise<void> {
    this.running ??= job().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }
}
