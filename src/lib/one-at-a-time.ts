/**
 * Runs async jobs strictly one after another, in call order, whatever each one's outcome: a
 * half-duplex serial line carries one exchange at a time (Modbus RTU, line instruments).
 */
export class OneAtATime {
  private chain: Promise<unknown> = Promise.resolve();

  run<T>(job: () => Promise<T>): Promise<T> {
    const result = this.chain.then(job, job);
    this.chain = result.catch(() => undefined);
    return result;
  }
}
