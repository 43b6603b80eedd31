/**
 * Per-property reporting filters: decide which collected samples are reported, so local analysis
 * saves uplink bandwidth. Pure (time is passed in); one instance per property.
 *
 *  - cycle:     the latest sample, once per report cycle (KubeEdge mapper behaviour); values
 *               the hardware pushes (edge interrupts) go out at once when they differ
 *  - change:    at once, when the value differs from the last reported one
 *  - deadband:  at once, when |v - last| >= absolute, or >= percent % of |last|
 *  - aggregate: once per report cycle: min/max/mean/count of the cycle's samples (value = last)
 *  - minIntervalMs (any mode): reports closer than this are held; the newest held value goes
 *    out at the next sample or tick after the interval.
 */
import type { ReportFilter } from '../../contract/resources/device.js';

export type Sample = number | boolean | string;

export interface Aggregate {
  min: number;
  max: number;
  mean: number;
  count: number;
}

export interface Report {
  value: Sample;
  /** when the reported sample was taken (ms) */
  at: number;
  aggregate?: Aggregate;
}

export const DEFAULT_FILTER: ReportFilter = { mode: 'cycle', minIntervalMs: 0 };

export class PropertyFilter {
  private lastReported?: Sample;
  private lastReportAt = -Infinity;
  private latest?: { value: Sample; at: number };
  private freshSinceTick = false;
  private held?: { value: Sample; at: number };
  private agg?: { min: number; max: number; sum: number; count: number };

  constructor(private readonly spec: ReportFilter = DEFAULT_FILTER) {}

  /** A collected sample. Returns a report to send now, if any. */
  sample(value: Sample, at: number): Report | undefined {
    // kept in place: a new object a second per property would outlive young-generation GCs
    if (this.latest) {
      this.latest.value = value;
      this.latest.at = at;
    } else this.latest = { value, at };
    this.freshSinceTick = true;
    switch (this.spec.mode) {
      case 'aggregate':
        if (typeof value === 'number' && Number.isFinite(value)) {
          const a = this.agg ?? { min: value, max: value, sum: 0, count: 0 };
          a.min = Math.min(a.min, value);
          a.max = Math.max(a.max, value);
          a.sum += value;
          a.count++;
          this.agg = a;
        }
        return undefined;
      case 'cycle':
        return undefined;
      case 'change':
        if (this.held === undefined && value === this.lastReported) return undefined;
        if (value === this.lastReported) {
          this.held = undefined;
          return undefined;
        }
        return this.offer(value, at);
      case 'deadband':
        if (!this.exceeds(value)) {
          // a held value that fell back inside the band is no longer worth sending
          if (this.held && !this.exceeds(this.held.value)) this.held = undefined;
          return this.flushHeld(at);
        }
        return this.offer(value, at);
    }
  }

  /**
   * A value the hardware pushed by itself (a GPIO edge interrupt). In `cycle` mode it is reported
   * at once when it differs from the last report (an event must not wait for the cycle); the
   * other modes treat it as a sample.
   */
  pushed(value: Sample, at: number): Report | undefined {
    if (this.spec.mode !== 'cycle') return this.sample(value, at);
    this.latest = { value, at };
    if (value === this.lastReported) return undefined;
    this.freshSinceTick = false;
    return this.offer(value, at);
  }

  /** The report cycle elapsed. */
  tick(now: number): Report | undefined {
    switch (this.spec.mode) {
      case 'cycle': {
        if (!this.latest || !this.freshSinceTick) return this.flushHeld(now);
        this.freshSinceTick = false;
        return this.offer(this.latest.value, this.latest.at, now);
      }
      case 'aggregate': {
        const a = this.agg;
        if (!a || !this.latest || !this.freshSinceTick) return undefined;
        if (now - this.lastReportAt < this.spec.minIntervalMs) return undefined;
        this.agg = undefined;
        this.freshSinceTick = false;
        this.mark(this.latest.value, now);
        return { value: this.latest.value, at: this.latest.at, aggregate: { min: a.min, max: a.max, mean: a.sum / a.count, count: a.count } };
      }
      default:
        this.freshSinceTick = false;
        return this.flushHeld(now);
    }
  }

  /** Forget the last report (after a reconnect everything is reported afresh). */
  reset(): void {
    this.lastReported = undefined;
    this.lastReportAt = -Infinity;
    this.held = undefined;
    this.agg = undefined;
  }

  private exceeds(value: Sample): boolean {
    const last = this.lastReported;
    if (typeof value !== 'number' || typeof last !== 'number') return value !== last;
    const d = Math.abs(value - last);
    const { absolute, percent } = this.spec;
    if (absolute !== undefined && d >= absolute) return true;
    if (percent !== undefined && d >= (Math.abs(last) * percent) / 100 && d > 0) return true;
    return false;
  }

  private offer(value: Sample, at: number, now = at): Report | undefined {
    if (now - this.lastReportAt < this.spec.minIntervalMs) {
      this.held = { value, at };
      return undefined;
    }
    this.held = undefined;
    this.mark(value, now);
    return { value, at };
  }

  private flushHeld(now: number): Report | undefined {
    const h = this.held;
    if (!h || now - this.lastReportAt < this.spec.minIntervalMs) return undefined;
    this.held = undefined;
    this.mark(h.value, now);
    return { value: h.value, at: h.at };
  }

  private mark(value: Sample, now: number): void {
    this.lastReported = value;
    this.lastReportAt = now;
  }
}
